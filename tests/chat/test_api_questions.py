"""The questions API: a course room's questions about its content, with their answers."""

import pytest

from chat.services import message_create, question_answer
from tests.clients import logged_in
from tests.factories import ContentFactory, CourseFactory, EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def course():
    return CourseFactory()


@pytest.fixture
def content(course):
    return ContentFactory(module__course=course, item__title="Loops")


@pytest.fixture
def student(course):
    return EnrollmentFactory(course=course).student


def ask(course, author, content, text="Why?"):
    return message_create(author=author, course=course, text=text, about=content.pk)[0]


def answered(course, question, text="Because."):
    reply = message_create(author=course.owner, course=course, text=text)[0]
    question_answer(actor=course.owner, course=course, message_id=question.pk, answer_id=reply.pk)
    return reply


def questions(client, course, **params):
    return client.get(f"/api/courses/{course.pk}/questions/", params)


def test_members_get_the_questions_newest_first_with_their_answers(course, student, content):
    first = ask(course, student, content, "First?")
    second = ask(course, student, content, "Second?")
    reply = answered(course, first)
    message_create(author=student, course=course, text="Not a question.")

    body = questions(logged_in(student), course).json()

    assert body["count"] == 2
    assert [item["id"] for item in body["results"]] == [second.pk, first.pk]
    assert body["results"][1]["question"]["answer_id"] == reply.pk
    assert body["results"][1]["answer"]["html"] == "<p>Because.</p>"
    assert body["results"][0]["answer"] is None


def test_state_open_lists_the_questions_without_an_answer(course, student, content):
    first, second = ask(course, student, content), ask(course, student, content)
    answered(course, first)

    body = questions(logged_in(course.owner), course, state="open").json()

    assert [item["id"] for item in body["results"]] == [second.pk]


def test_state_answered_lists_the_questions_with_an_answer(course, student, content):
    first = ask(course, student, content)
    ask(course, student, content)
    answered(course, first)

    body = questions(logged_in(student), course, state="answered").json()

    assert [item["id"] for item in body["results"]] == [first.pk]


def test_content_keeps_the_questions_about_that_content(course, student, content):
    other = ContentFactory(module=content.module)
    ask(course, student, content)
    wanted = ask(course, student, other)

    body = questions(logged_in(student), course, content=other.pk).json()

    assert [item["id"] for item in body["results"]] == [wanted.pk]


def test_an_unknown_state_is_a_400(course, student):
    response = questions(logged_in(student), course, state="closed")

    assert response.status_code == 400


def test_a_non_member_is_refused(course, content, student):
    ask(course, student, content)

    assert questions(logged_in(UserFactory()), course).status_code == 403


def test_questions_come_in_pages(course, student, content):
    for _ in range(3):
        ask(course, student, content)

    body = questions(logged_in(student), course, page_size=2).json()

    assert (body["count"], len(body["results"]), body["next"] is not None) == (3, 2, True)
