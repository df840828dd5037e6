"""Access changes close a user's sockets at once, and they receive nothing more."""

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from rest_framework.authtoken.models import Token

from chat.models import Message
from students.models import Enrollment
from tests.chat.conftest import close_code, join, send, session_key_for, token_key_for
from tests.factories import CourseFactory, EnrollmentFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("chat_redis")]

# The guarantee is 5 s; in one process the close follows the commit at once.
WITHIN = 5


async def closed_with(communicator) -> int:
    return await close_code(communicator, timeout=WITHIN)


async def test_logging_out_closes_that_sessions_sockets_only(room):
    course, _, students = room
    student = students[0]
    leaving_key = await database_sync_to_async(session_key_for)(student)
    leaving = await join(course, session_key=leaving_key)
    staying = await join(course, student)

    def log_out():
        client = Client()
        client.cookies["sessionid"] = leaving_key
        assert client.post("/accounts/logout/").status_code == 302

    await database_sync_to_async(log_out)()
    assert await closed_with(leaving) == 4401
    await send(staying, type="ping")
    assert (await staying.receive_json_from(timeout=3))["type"] == "pong"
    await leaving.disconnect()
    await staying.disconnect()


async def test_unenrolling_closes_the_students_sockets_and_nothing_more_arrives(room):
    course, owner, students = room
    student = await join(course, students[0])
    instructor = await join(course, owner)
    await database_sync_to_async(
        Enrollment.objects.filter(student=students[0], course=course).delete
    )()
    assert await closed_with(student) == 4403
    await send(instructor, message="after they left")
    await instructor.receive_json_from(timeout=3)
    assert await student.receive_nothing(timeout=0.3)
    await student.disconnect()
    await instructor.disconnect()


async def test_unenrolling_from_another_course_keeps_the_socket(room):
    course, owner, students = room
    other_course = await database_sync_to_async(CourseFactory)(owner=owner)
    other = await database_sync_to_async(EnrollmentFactory)(
        student=students[0], course=other_course
    )
    communicator = await join(course, students[0])
    await database_sync_to_async(other.delete)()
    await send(communicator, type="ping")
    assert (await communicator.receive_json_from(timeout=3))["type"] == "pong"
    await communicator.disconnect()


async def test_deactivation_closes_the_users_sockets(room):
    course, _, students = room
    communicator = await join(course, students[0])
    students[0].is_active = False
    await database_sync_to_async(students[0].save)()
    assert await closed_with(communicator) == 4401
    await communicator.disconnect()


async def test_a_password_change_closes_the_sockets_of_other_sessions(room):
    course, _, students = room
    communicator = await join(course, students[0])

    def change_password():
        students[0].set_password("a-brand-new-password-42")
        students[0].save()

    await database_sync_to_async(change_password)()
    assert await closed_with(communicator) == 4401
    await communicator.disconnect()


async def test_deleting_the_user_closes_their_sockets_and_keeps_their_messages(room):
    course, owner, students = room
    communicator = await join(course, students[0])
    await send(communicator, message="remember me")
    await communicator.receive_json_from(timeout=3)
    await database_sync_to_async(students[0].delete)()
    assert await closed_with(communicator) == 4401
    message = await database_sync_to_async(Message.objects.get)()
    assert (message.text, message.user_id) == ("remember me", None)
    await communicator.disconnect()


async def test_deleting_the_token_closes_its_sockets(room):
    course, _, students = room
    token = await database_sync_to_async(token_key_for)(students[0])
    communicator = await join(course, token=token, origin=None)
    await database_sync_to_async(Token.objects.filter(key=token).delete)()
    assert await closed_with(communicator) == 4401
    await communicator.disconnect()


async def test_unpublishing_closes_the_students_sockets_but_not_the_owners(room):
    course, owner, students = room
    student = await join(course, students[0])
    instructor = await join(course, owner)
    course.status = course.Status.DRAFT
    await database_sync_to_async(course.save)()
    assert await closed_with(student) == 4404
    await send(instructor, type="ping")
    frames = [await instructor.receive_json_from(timeout=3) for _ in range(2)]
    assert {"type": "pong"} in frames
    await student.disconnect()
    await instructor.disconnect()


async def test_deleting_the_course_closes_its_room(room):
    course, owner, students = room
    student = await join(course, students[0])
    await send(student, message="soon gone")
    await student.receive_json_from(timeout=3)
    await database_sync_to_async(course.delete)()
    assert await closed_with(student) == 4404
    assert await database_sync_to_async(Message.objects.count)() == 0
    await student.disconnect()
