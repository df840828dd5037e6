"""Searching a room's messages: full-text on PostgreSQL, members only, excerpts sanitised."""

import pytest
from django.db import connection

from chat.api import SEARCH_BLANK
from chat.selectors import _excerpt_without_search_engine
from chat.services import message_create, message_delete
from tests.clients import logged_in
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def course():
    return CourseFactory()


@pytest.fixture
def student(course):
    return EnrollmentFactory(course=course).student


def say(course, author, text):
    return message_create(author=author, course=course, text=text)[0]


def search(user, course, words, **params):
    return logged_in(user).get(f"/api/courses/{course.pk}/messages/", {"search": words, **params})


def test_search_finds_the_messages_with_the_words(course, student):
    say(course, student, "the exam is on Monday")
    say(course, student, "nothing to see")

    body = search(student, course, "exam").json()

    assert [frame["message"] for frame in body["messages"]] == ["the exam is on Monday"]
    assert body["has_more"] is False


def test_the_best_match_comes_first(course, student):
    say(course, student, "exam questions and exam answers about the exam")
    say(course, student, "one exam")
    say(course, student, "an unrelated line")

    body = search(student, course, "exam").json()

    assert [frame["seq"] for frame in body["messages"]] == [1, 2]


def test_the_excerpt_marks_the_match_and_escapes_the_text(course, student):
    say(course, student, '<script>alert(1)</script> if 1 < 2 & "a" see the homework')

    (frame,) = search(student, course, "homework").json()["messages"]

    assert "<mark>homework</mark>" in frame["excerpt"]
    assert "<script>" not in frame["excerpt"]
    assert "1 &lt; 2 &amp; &quot;a&quot;" in frame["excerpt"]


def test_a_message_cannot_forge_a_mark(course, student):
    say(course, student, "homework \ue000<b>bold\ue001 text")

    (frame,) = search(student, course, "homework").json()["messages"]

    assert frame["excerpt"].count("<mark>") == 1
    assert "<b>" not in frame["excerpt"]


def test_deleted_messages_are_not_found(course, student):
    message = say(course, student, "secret plans")
    message_delete(actor=course.owner, course=course, message_id=message.pk)

    assert search(student, course, "secret").json()["messages"] == []


def test_search_is_for_members_only(course, student):
    say(course, student, "the exam")

    assert search(UserFactory(), course, "exam").status_code == 403


def test_a_blank_search_is_refused_with_a_message(course, student):
    response = search(student, course, "   ")

    assert response.status_code == 400
    assert response.json()["errors"] == {"search": [SEARCH_BLANK]}


def test_search_takes_no_paging(course, student):
    assert search(student, course, "exam", before=5).status_code == 400


def test_search_syntax_errors_are_no_server_errors(course, student):
    say(course, student, "the exam")

    assert search(student, course, '"unclosed -( & | !').status_code == 200


def test_the_text_index_exists_on_postgresql():
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "chat_message")
    assert constraints["chat_message_search"]["type"] == "gin"


def test_without_postgresql_the_excerpt_marks_every_word_whatever_its_case():
    excerpt = _excerpt_without_search_engine("The <b>Exam</b> and the exam", ["exam"])

    assert excerpt == "The &lt;b&gt;<mark>Exam</mark>&lt;/b&gt; and the <mark>exam</mark>"
