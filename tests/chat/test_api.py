"""The chat history API: the WebSocket's message frames, for members only."""

import pytest
from rest_framework.test import APIClient

from chat.selectors import message_frame
from chat.services import message_create, message_delete
from courses.models import Course
from tests.clients import logged_in
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def course():
    return CourseFactory()


@pytest.fixture
def student(course):
    return EnrollmentFactory(course=course).student


def say(course, author, count=1):
    return [message_create(author=author, course=course, text=f"m{i}")[0] for i in range(count)]


def history(client, course, **params):
    return client.get(f"/api/courses/{course.pk}/messages/", params)


def test_members_get_the_messages_as_websocket_frames(course, student):
    (message,) = say(course, student)

    body = history(logged_in(student), course).json()

    assert body == {"messages": [message_frame(message)], "has_more": False}


def test_the_owner_gets_the_history(course, student):
    say(course, student)

    assert history(logged_in(course.owner), course).status_code == 200


def test_the_newest_messages_come_oldest_first_up_to_the_limit(course, student):
    say(course, student, 5)

    body = history(logged_in(student), course, limit=2).json()

    assert [frame["seq"] for frame in body["messages"]] == [4, 5]
    assert body["has_more"] is True


def test_before_pages_back(course, student):
    say(course, student, 5)

    body = history(logged_in(student), course, before=3).json()

    assert [frame["seq"] for frame in body["messages"]] == [1, 2]


def test_after_catches_up(course, student):
    say(course, student, 5)

    body = history(logged_in(student), course, after=3).json()

    assert [frame["seq"] for frame in body["messages"]] == [4, 5]


def test_deleted_messages_come_as_tombstones(course, student):
    (message,) = say(course, student)
    message_delete(actor=course.owner, course=course, message_id=message.pk)

    (frame,) = history(logged_in(student), course).json()["messages"]

    assert (frame["deleted"], frame["message"]) == (True, None)


def test_history_items_carry_the_html_and_the_quoted_reply(course, student):
    (original,) = say(course, course.owner)
    message_create(author=student, course=course, text="see **this**", reply_to=original.pk)

    frame = history(logged_in(student), course).json()["messages"][-1]

    assert frame["html"] == "<p>see <strong>this</strong></p>"
    assert frame["reply_to"] == {
        "id": original.pk, "seq": 1, "user": course.owner.username, "excerpt": "m0",
        "deleted": False,
    }  # fmt: skip


def test_non_members_are_forbidden(course):
    assert history(logged_in(UserFactory()), course).status_code == 403


def test_the_history_needs_credentials(course):
    assert history(APIClient(), course).status_code == 401


def test_an_unknown_course_is_a_404(student):
    assert logged_in(student).get("/api/courses/999999/messages/").status_code == 404


def test_a_draft_course_is_a_404_for_its_students(course, student):
    Course.objects.filter(pk=course.pk).update(status=Course.Status.DRAFT)

    assert history(logged_in(student), course).status_code == 404


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("limit", 0),
        ("limit", 101),
        ("before", -1),
        ("after", "x"),
        ("limit", "1.0"),
        ("limit", " 5"),
        ("before", "1_000"),
        ("before", "\u0661"),  # ARABIC-INDIC DIGIT ONE: int() reads it as 1
        ("before", 2**63),
        ("after", "9" * 5000),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(course, student, field, value):
    response = history(logged_in(student), course, **{field: value})

    assert response.status_code == 400
    assert field in response.json()["errors"]


@pytest.mark.parametrize("field", ["limit", "before", "after"])
def test_a_repeated_parameter_is_a_400_naming_it(course, student, field):
    response = logged_in(student).get(f"/api/courses/{course.pk}/messages/?{field}=1&{field}=2")

    assert (response.status_code, list(response.json()["errors"])) == (400, [field])
