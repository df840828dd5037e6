"""The chat API for changed messages: resume with since_rev, pins, earlier texts."""

import pytest

from chat.services import message_create, message_edit, message_pin, message_react
from tests.clients import logged_in
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def course():
    return CourseFactory(owner=UserFactory())


@pytest.fixture
def student(course):
    return EnrollmentFactory(course=course).student


def say(course, author, *texts):
    return [message_create(author=author, course=course, text=text)[0] for text in texts]


def test_since_rev_gives_the_changed_earlier_messages_then_the_newer_ones(course, student):
    first, second = say(course, student, "a", "b")
    message_edit(actor=student, course=course, message_id=second.pk, text="b!")
    message_react(actor=student, course=course, message_id=first.pk, emoji="👍")
    say(course, student, "c")

    body = (
        logged_in(student)
        .get(f"/api/courses/{course.pk}/messages/", {"after": 2, "since_rev": 2})
        .json()
    )

    assert [(frame["type"], frame["seq"], frame["rev"]) for frame in body["updates"]] == [
        ("message.updated", 2, 3),
        ("message.updated", 1, 4),
    ]
    assert [frame["message"] for frame in body["messages"]] == ["c"]
    assert body["updates_more"] is False


def test_since_rev_without_after_is_a_400(course, student):
    response = logged_in(student).get(f"/api/courses/{course.pk}/messages/", {"since_rev": 1})

    assert response.status_code == 400
    assert "since_rev" in response.json()["errors"]


def test_history_without_since_rev_has_no_updates(course, student):
    say(course, student, "a")

    body = logged_in(student).get(f"/api/courses/{course.pk}/messages/", {"after": 0}).json()

    assert "updates" not in body


def test_members_get_the_pinned_messages_newest_pin_first(course, student):
    first, second, _ = say(course, student, "a", "b", "c")
    for message in (first, second):
        message_pin(actor=course.owner, course=course, message_id=message.pk, pinned=True)

    body = logged_in(student).get(f"/api/courses/{course.pk}/pins/").json()

    assert [frame["message"] for frame in body["messages"]] == ["b", "a"]
    assert all(frame["pinned"] for frame in body["messages"])


def test_the_owner_reads_a_messages_earlier_texts(course, student):
    (message,) = say(course, student, "v1")
    message_edit(actor=student, course=course, message_id=message.pk, text="v2")
    message_edit(actor=student, course=course, message_id=message.pk, text="v3")

    body = logged_in(course.owner).get(f"/api/messages/{message.pk}/edits/").json()

    assert body["id"] == message.pk
    assert [edit["message"] for edit in body["edits"]] == ["v1", "v2"]


def test_the_author_may_not_read_their_messages_earlier_texts(course, student):
    (message,) = say(course, student, "v1")

    response = logged_in(student).get(f"/api/messages/{message.pk}/edits/")

    assert response.status_code == 403


def test_an_unknown_messages_edits_are_a_404(course):
    response = logged_in(course.owner).get("/api/messages/999999/edits/")

    assert response.status_code == 404
