import pytest

from courses.models import Question
from tests.factories import (
    EnrollmentFactory,
    ModuleFactory,
    QuestionFactory,
    QuizContentFactory,
    UserFactory,
)


def questions_of_every_kind(quiz):
    """Five questions, one per kind, each worth 1 point unless said otherwise."""
    kind = Question.Kind
    return [
        QuestionFactory(quiz=quiz, kind=kind.SINGLE),
        QuestionFactory(
            quiz=quiz,
            kind=kind.MULTIPLE,
            points=2,
            partial_credit=True,
            options=[
                {"id": 1, "text": "A", "correct": True},
                {"id": 2, "text": "B", "correct": True},
                {"id": 3, "text": "C", "correct": False},
            ],
        ),
        QuestionFactory(quiz=quiz, kind=kind.TRUE_FALSE, options=[], correct_boolean=True),
        QuestionFactory(
            quiz=quiz, kind=kind.NUMERIC, options=[], numeric_answer=3.14, tolerance=0.01
        ),
        QuestionFactory(
            quiz=quiz, kind=kind.TEXT, options=[], accepted_answers=["Paris", "Paname"]
        ),
    ]


@pytest.fixture
def quiz_content(db):
    content = QuizContentFactory()
    questions_of_every_kind(content.item)
    return content


@pytest.fixture
def quiz(quiz_content):
    return quiz_content.item


@pytest.fixture
def enrolled(quiz_content):
    student = UserFactory()
    EnrollmentFactory(student=student, course=quiz_content.module.course)
    return student


def right_answers(attempt) -> dict:
    answers = {}
    for question in attempt.questions:
        kind, key = question["kind"], str(question["id"])
        if kind in ("single", "multiple"):
            answers[key] = sorted(o["id"] for o in question["options"] if o["correct"])
        elif kind == "true_false":
            answers[key] = question["correct_boolean"]
        elif kind == "numeric":
            answers[key] = question["numeric_answer"]
        else:
            answers[key] = question["accepted_answers"][0]
    return answers


@pytest.fixture
def module(db):
    return ModuleFactory()
