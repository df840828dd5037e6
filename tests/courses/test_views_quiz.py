"""The CMS's quiz page: the quiz and its questions on one form."""

import pytest
from django.urls import reverse

from courses.models import Content, Question, Quiz
from educa.views import INVALID_SUBMISSION_STATUS
from tests.factories import QuestionFactory, QuizContentFactory

pytestmark = pytest.mark.django_db


def quiz_post(questions, **quiz_fields):
    """The quiz page's POST data with the given questions (dicts of field values)."""
    data = {
        "title": "Checkpoint",
        "instructions": "Answer all.",
        "pass_mark": "60",
        "attempts_allowed": "",
        "time_limit": "",
        "answers_shown": "after_each",
        "questions-TOTAL_FORMS": str(len(questions)),
        "questions-INITIAL_FORMS": str(sum(1 for q in questions if "id" in q)),
        "questions-MIN_NUM_FORMS": "0",
        "questions-MAX_NUM_FORMS": "1000",
        **quiz_fields,
    }
    for index, question in enumerate(questions):
        fields = {"points": "1", "tolerance": "", "ORDER": str(index + 1), **question}
        data.update({f"questions-{index}-{name}": value for name, value in fields.items()})
    return data


def test_the_create_page_shows_an_empty_question_form(instructor_client, module):
    response = instructor_client.get(reverse("module_quiz_create", args=[module.pk]))
    assert response.status_code == 200
    assert 'name="questions-0-text"' in response.content.decode()


def test_creating_a_quiz_saves_its_questions_in_order(instructor_client, module):
    questions = [
        {"kind": "single", "text": "Capital of France?", "options": "*Paris\nLyon"},
        {"kind": "true_false", "text": "Water is wet.", "correct_boolean": "true"},
        {"kind": "numeric", "text": "Pi?", "numeric_answer": "3.14", "tolerance": "0.01"},
    ]
    response = instructor_client.post(
        reverse("module_quiz_create", args=[module.pk]), quiz_post(questions)
    )
    assert response.status_code == 302
    quiz = Quiz.objects.get()
    assert Content.objects.get().item == quiz
    assert [q.kind for q in quiz.questions.all()] == ["single", "true_false", "numeric"]
    assert quiz.questions.first().options == [
        {"id": 1, "text": "Paris", "correct": True},
        {"id": 2, "text": "Lyon", "correct": False},
    ]


def test_a_choice_question_without_a_right_option_is_explained(instructor_client, module):
    questions = [{"kind": "single", "text": "Which?", "options": "A\nB"}]
    response = instructor_client.post(
        reverse("module_quiz_create", args=[module.pk]), quiz_post(questions)
    )
    assert response.status_code == INVALID_SUBMISSION_STATUS
    assert "Mark exactly one option correct." in response.content.decode()
    assert not Quiz.objects.exists()


def test_editing_reorders_and_deletes_questions(instructor_client, module):
    content = QuizContentFactory(module=module)
    first = QuestionFactory(quiz=content.item, text="First")
    second = QuestionFactory(quiz=content.item, text="Second")
    third = QuestionFactory(quiz=content.item, text="Third")
    questions = [
        {"id": str(q.pk), "kind": "single", "text": q.text, "options": "*Right\nWrong"}
        for q in (first, second, third)
    ]
    questions[0]["ORDER"], questions[2]["ORDER"] = "3", "1"
    questions[1]["DELETE"] = "on"
    data = quiz_post(questions)
    data.update(
        {f"questions-{i}-ORDER": q["ORDER"] for i, q in enumerate(questions) if "ORDER" in q}
    )
    url = reverse("module_quiz_update", args=[module.pk, content.item.pk])
    response = instructor_client.post(url, data)
    assert response.status_code == 302
    assert list(Question.objects.filter(quiz=content.item).values_list("text", flat=True)) == [
        "Third",
        "First",
    ]


def test_editing_options_keeps_the_ids_of_those_kept(instructor_client, module):
    content = QuizContentFactory(module=module)
    question = QuestionFactory(quiz=content.item)
    questions = [{"id": str(question.pk), "kind": "single", "text": "Q", "options": "New\n*Right"}]
    url = reverse("module_quiz_update", args=[module.pk, content.item.pk])
    instructor_client.post(url, quiz_post(questions))
    question.refresh_from_db()
    assert question.options == [
        {"id": 3, "text": "New", "correct": False},
        {"id": 1, "text": "Right", "correct": True},
    ]


def test_another_instructors_quiz_is_not_found(client, module):
    from tests.factories import InstructorFactory

    content = QuizContentFactory(module=module)
    client.force_login(InstructorFactory())
    url = reverse("module_quiz_update", args=[module.pk, content.item.pk])
    assert client.get(url).status_code == 404
