"""Questions about course content over the socket: asking with `about`, the `answer` frame."""

import pytest
from channels.db import database_sync_to_async

from tests.chat.conftest import close_code, join, receive_type, send
from tests.factories import ContentFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("chat_redis")]


@database_sync_to_async
def content_of(course, title="Lists and loops"):
    return ContentFactory(module__course=course, item__title=title)


async def asked(communicator, reader, content, text="Why a loop?"):
    """Send a question and read it back from `reader`: its frame."""
    await send(communicator, message=text, client_id="q1", about=content.pk)
    return await receive_type(reader, "message")


async def test_a_question_reaches_the_room_with_its_content(room):
    course, owner, students = room
    content = await content_of(course)
    asker, reader = await join(course, students[0]), await join(course, owner)
    frame = await asked(asker, reader, content)
    assert frame["question"] == {
        "content_id": content.pk,
        "content_title": "Lists and loops",
        "answer_id": None,
    }
    await asker.disconnect()
    await reader.disconnect()


async def test_a_question_about_another_courses_content_is_not_found(room):
    course, _, students = room
    elsewhere = await database_sync_to_async(ContentFactory)()
    asker = await join(course, students[0])
    await send(asker, message="?", client_id="q1", about=elsewhere.pk)
    error = await receive_type(asker, "error")
    assert (error["code"], error["client_id"]) == ("not_found", "q1")
    await asker.disconnect()


async def test_the_owner_marks_the_answer_and_everyone_sees_it(room):
    course, owner, students = room
    content = await content_of(course)
    asker, instructor = await join(course, students[0]), await join(course, owner)
    question = await asked(asker, instructor, content)
    await receive_type(asker, "message")
    await send(instructor, message="Because it repeats.", reply_to=question["id"])
    reply = await receive_type(asker, "message")
    await send(instructor, type="answer", id=question["id"], answer_id=reply["id"])
    updated = await receive_type(asker, "message.updated")
    assert (updated["id"], updated["rev"]) == (question["id"], 3)
    assert updated["question"]["answer_id"] == reply["id"]
    await asker.disconnect()
    await instructor.disconnect()


async def test_another_member_marking_the_answer_is_forbidden(room):
    course, _, students = room
    content = await content_of(course)
    asker, other = await join(course, students[0]), await join(course, students[1])
    question = await asked(asker, other, content)
    await send(other, message="A guess.")
    reply = await receive_type(other, "message")
    assert reply["id"] != question["id"]
    await send(other, type="answer", id=question["id"], answer_id=reply["id"])
    assert (await receive_type(other, "error"))["code"] == "forbidden"
    await asker.disconnect()
    await other.disconnect()


async def test_an_answer_frame_without_answer_id_is_an_invalid_frame(room):
    course, _, students = room
    content = await content_of(course)
    asker = await join(course, students[0])
    question = await asked(asker, asker, content)
    await send(asker, type="answer", id=question["id"])
    assert (await receive_type(asker, "error"))["code"] == "invalid_frame"
    await asker.disconnect()


async def test_marking_the_answer_on_a_plain_message_is_not_found(room):
    course, owner, students = room
    author, instructor = await join(course, students[0]), await join(course, owner)
    await send(author, message="Not a question.")
    message = await receive_type(instructor, "message")
    await send(instructor, type="answer", id=message["id"], answer_id=None)
    assert (await receive_type(instructor, "error"))["code"] == "not_found"
    await author.disconnect()
    await instructor.disconnect()


async def test_clearing_an_unanswered_question_answers_its_sender_with_its_state(room):
    course, _, students = room
    content = await content_of(course)
    asker = await join(course, students[0])
    question = await asked(asker, asker, content)
    await send(asker, type="answer", id=question["id"], answer_id=None)
    updated = await receive_type(asker, "message.updated")
    assert (updated["rev"], updated["question"]["answer_id"]) == (1, None)
    await asker.disconnect()


async def test_answer_frames_count_against_the_frame_budget(room, settings):
    settings.CHAT_FRAME_BUDGET = "3/10s"
    course, owner, students = room
    content = await content_of(course)
    asker = await join(course, students[0])
    question = await asked(asker, asker, content)  # the budget's first frame
    for _ in range(3):
        await send(asker, type="answer", id=question["id"], answer_id=None)
    assert await close_code(asker) == 4429
    await asker.disconnect()
