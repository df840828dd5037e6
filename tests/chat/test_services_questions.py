"""Questions about course content: asking, marking the answer, and the study view's cache."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.models import Message, Room
from chat.selectors import message_frame, message_updated_frame, questions_version
from chat.services import (
    MessageDraft,
    message_create,
    message_create_many,
    message_delete,
    message_edit,
    question_answer,
)
from tests.factories import ContentFactory, CourseFactory, EnrollmentFactory, UserFactory


@pytest.fixture
def course(db):
    return CourseFactory(owner=UserFactory())


@pytest.fixture
def content(course):
    return ContentFactory(module__course=course, item__title="Lists and loops")


@pytest.fixture
def student(course):
    return EnrollmentFactory(course=course).student


@pytest.fixture
def other(course):
    return EnrollmentFactory(course=course).student


def ask(course, author, content, text="Why?"):
    return message_create(author=author, course=course, text=text, about=content.pk)[0]


def say(course, author, text="Because."):
    return message_create(author=author, course=course, text=text)[0]


def error_code(call) -> str:
    with pytest.raises(ValidationError) as error:
        call()
    return error.value.code


def answer(course, actor, question, answer_id):
    return question_answer(actor=actor, course=course, message_id=question.pk, answer_id=answer_id)


# --- asking -----------------------------------------------------------------------------------


def test_a_question_frame_names_its_content_and_has_no_answer_yet(course, student, content):
    question = ask(course, student, content)
    assert message_frame(question)["question"] == {
        "content_id": content.pk,
        "content_title": "Lists and loops",
        "answer_id": None,
    }


def test_a_plain_message_is_no_question(course, student):
    assert message_frame(say(course, student))["question"] is None


def test_asking_about_another_courses_content_is_not_found(course, student):
    elsewhere = ContentFactory()
    assert error_code(lambda: ask(course, student, elsewhere)) == "not_found"
    assert not Message.objects.exists()


def test_asking_about_a_non_id_is_an_invalid_frame(course, student):
    call = lambda: message_create(author=student, course=course, text="?", about="1")  # noqa: E731
    assert error_code(call) == "invalid_frame"


def test_a_batch_of_questions_checks_their_contents_in_one_query(course, student, content):
    contents = [content, *(ContentFactory(module=content.module) for _ in range(3))]
    say(course, student)
    drafts = [
        MessageDraft(author=student, course_id=course.pk, text="?", about=item.pk)
        for item in contents
    ]
    with CaptureQueriesContext(connection) as one:
        message_create_many(drafts[:1])
    with CaptureQueriesContext(connection) as many:
        results = message_create_many(drafts)
    assert len(many.captured_queries) == len(one.captured_queries)
    assert [result[0].about_id for result in results] == [item.pk for item in contents]


# --- answers ----------------------------------------------------------------------------------


def test_the_owner_marks_a_reply_as_the_answer_under_the_next_rev(course, student, content):
    question = ask(course, student, content)
    reply = say(course, course.owner)
    question, changed = answer(course, course.owner, question, reply.pk)
    assert changed
    assert question.rev == Room.objects.get(pk=course.pk).last_rev == 3
    assert message_updated_frame(question)["question"]["answer_id"] == reply.pk


def test_the_asker_may_mark_the_answer(course, student, other, content):
    question = ask(course, student, content)
    reply = say(course, other)
    question, _ = answer(course, student, question, reply.pk)
    question.refresh_from_db()
    assert question.answer_id == reply.pk


def test_another_member_may_not_mark_the_answer(course, student, other, content):
    question = ask(course, student, content)
    reply = say(course, other)
    assert error_code(lambda: answer(course, other, question, reply.pk)) == "forbidden"
    assert Room.objects.get(pk=course.pk).last_rev == 2


def test_a_null_answer_id_clears_the_answer(course, student, content):
    question = ask(course, student, content)
    reply = say(course, course.owner)
    answer(course, course.owner, question, reply.pk)
    question, changed = answer(course, course.owner, question, None)
    assert changed
    assert message_frame(question)["question"]["answer_id"] is None


def test_marking_the_same_answer_again_changes_nothing(course, student, content):
    question = ask(course, student, content)
    reply = say(course, course.owner)
    answer(course, course.owner, question, reply.pk)
    _, changed = answer(course, course.owner, question, reply.pk)
    assert not changed
    assert Room.objects.get(pk=course.pk).last_rev == 3


def test_a_message_that_is_no_question_takes_no_answer(course, student):
    message, reply = say(course, student), say(course, course.owner)
    assert error_code(lambda: answer(course, course.owner, message, reply.pk)) == "not_found"


def test_an_answer_from_another_room_is_not_found(course, student, content):
    question = ask(course, student, content)
    elsewhere = CourseFactory(owner=UserFactory())
    stranger = say(elsewhere, elsewhere.owner)
    assert error_code(lambda: answer(course, course.owner, question, stranger.pk)) == "not_found"


def test_a_question_cannot_answer_itself(course, student, content):
    question = ask(course, student, content)
    assert error_code(lambda: answer(course, student, question, question.pk)) == "not_found"


def test_an_answer_id_that_is_not_a_number_is_an_invalid_frame(course, student, content):
    question = ask(course, student, content)
    assert error_code(lambda: answer(course, student, question, "2")) == "invalid_frame"


# --- the study view's cache -------------------------------------------------------------------


def test_asking_changes_the_courses_questions_version_after_commit(
    course, student, content, django_capture_on_commit_callbacks
):
    before = questions_version(course_id=course.pk)
    with django_capture_on_commit_callbacks(execute=True):
        ask(course, student, content)
        assert questions_version(course_id=course.pk) == before
    assert questions_version(course_id=course.pk) != before


def test_a_plain_message_leaves_the_questions_version(
    course, student, django_capture_on_commit_callbacks
):
    before = questions_version(course_id=course.pk)
    with django_capture_on_commit_callbacks(execute=True):
        say(course, student)
    assert questions_version(course_id=course.pk) == before


def test_marking_an_answer_changes_the_questions_version(
    course, student, content, django_capture_on_commit_callbacks
):
    question, reply = ask(course, student, content), say(course, course.owner)
    before = questions_version(course_id=course.pk)
    with django_capture_on_commit_callbacks(execute=True):
        answer(course, course.owner, question, reply.pk)
    assert questions_version(course_id=course.pk) != before


def test_editing_an_answer_changes_the_questions_version(
    course, student, content, django_capture_on_commit_callbacks
):
    question, reply = ask(course, student, content), say(course, course.owner)
    answer(course, course.owner, question, reply.pk)
    before = questions_version(course_id=course.pk)
    with django_capture_on_commit_callbacks(execute=True):
        message_edit(actor=course.owner, course=course, message_id=reply.pk, text="Better.")
    assert questions_version(course_id=course.pk) != before


def test_deleting_a_question_changes_the_questions_version(
    course, student, content, django_capture_on_commit_callbacks
):
    question = ask(course, student, content)
    before = questions_version(course_id=course.pk)
    with django_capture_on_commit_callbacks(execute=True):
        message_delete(actor=course.owner, course=course, message_id=question.pk)
    assert questions_version(course_id=course.pk) != before


def test_deleting_an_answer_opens_its_question_again_under_the_next_rev(course, student, content):
    question, reply = ask(course, student, content), say(course, course.owner)
    answer(course, course.owner, question, reply.pk)
    message_delete(actor=course.owner, course=course, message_id=reply.pk)
    question.refresh_from_db()
    assert question.answer_id is None
    assert question.rev == Room.objects.get(pk=course.pk).last_rev == 5
