"""No answer reaches a student before the quiz allows it: not in a page, not in the API, not
in what the cache keeps for pages."""

import json

import pytest
from django.core.cache import caches
from django.urls import reverse
from rest_framework.test import APIClient

from courses.models import Question, Quiz
from quizzes.models import Attempt
from tests.factories import EnrollmentFactory, QuestionFactory, QuizContentFactory, UserFactory

pytestmark = pytest.mark.django_db

Kind = Question.Kind
FIELDS = ("correct", "tolerance", "accepted_answers", "numeric_answer", "feedback")


@pytest.fixture
def secret_quiz(throttle_in_memory):
    """A quiz whose every answer and feedback is a marker found nowhere else."""
    content = QuizContentFactory(item__answers_shown=Quiz.AnswersShown.AFTER_EACH)
    quiz = content.item
    QuestionFactory(
        quiz=quiz,
        kind=Kind.SINGLE,
        feedback="MARKER-FEEDBACK-SINGLE",
        options=[
            {"id": 1, "text": "Alpha", "correct": True},
            {"id": 2, "text": "Beta", "correct": False},
        ],
    )
    QuestionFactory(
        quiz=quiz,
        kind=Kind.MULTIPLE,
        feedback="MARKER-FEEDBACK-MULTIPLE",
        options=[
            {"id": 1, "text": "Gamma", "correct": True},
            {"id": 2, "text": "Delta", "correct": True},
            {"id": 3, "text": "Epsilon", "correct": False},
        ],
    )
    QuestionFactory(
        quiz=quiz, kind=Kind.TRUE_FALSE, options=[], correct_boolean=False,
        feedback="MARKER-FEEDBACK-TRUE-FALSE",
    )  # fmt: skip
    QuestionFactory(
        quiz=quiz, kind=Kind.NUMERIC, options=[], numeric_answer=7654321.125, tolerance=0.4321,
        feedback="MARKER-FEEDBACK-NUMERIC",
    )  # fmt: skip
    QuestionFactory(
        quiz=quiz, kind=Kind.TEXT, options=[], accepted_answers=["MARKER-ACCEPTED-TEXT"],
        feedback="MARKER-FEEDBACK-TEXT",
    )  # fmt: skip
    return content


MARKERS = [
    "MARKER-FEEDBACK",
    "MARKER-ACCEPTED",
    "7654321",
    "0.4321",
]


def leaks(text: str) -> list[str]:
    """The markers and answer fields found in a response body or a cache entry."""
    found = [marker for marker in MARKERS if marker in text]
    found += [name for name in FIELDS if f'"{name}"' in text or f"'{name}'" in text]
    return found


def cache_dump() -> str:
    """Every entry of the (local memory) cache, pickled bytes read as text."""
    entries = caches["default"]._cache.values()
    return "\n".join(value.decode("utf-8", "replace") for value in entries)


def test_nothing_a_student_reaches_before_answering_holds_an_answer(client, secret_quiz):
    course, module = secret_quiz.module.course, secret_quiz.module
    student = UserFactory()
    EnrollmentFactory(student=student, course=course)
    client.force_login(student)
    api = APIClient()
    api.force_authenticate(student)
    study = reverse("student_course_detail_module", args=[course.pk, module.pk])

    bodies = {
        "course page": client.get(course.get_absolute_url()),
        "study page": client.get(study),
        "API course": api.get(f"/api/courses/{course.pk}/"),
        "API contents": api.get(f"/api/courses/{course.pk}/contents/"),
        "API my courses": api.get("/api/me/courses/"),
        "API content": api.get(f"/api/contents/{secret_quiz.pk}/"),
        "API attempts before": api.get(f"/api/contents/{secret_quiz.pk}/attempts/"),
        "API start": api.post(f"/api/contents/{secret_quiz.pk}/attempts/"),
    }
    attempt = Attempt.objects.get()
    bodies.update(
        {
            "API attempt": api.get(f"/api/attempts/{attempt.pk}/"),
            "API attempts open": api.get(f"/api/contents/{secret_quiz.pk}/attempts/"),
            "study page with the form": client.get(study),
            "study page again (cached)": client.get(study),
        }
    )
    assert bodies["study page with the form"].content.decode().count("answer-") >= 5

    found = {
        name: leaks(response.content.decode())
        for name, response in bodies.items()
        if leaks(response.content.decode())
    }
    found["cache"] = leaks(cache_dump())
    assert found == {"cache": []}


def test_the_answers_show_once_the_attempt_is_graded(client, secret_quiz):
    """The markers are real: the same pages show them when the quiz allows."""
    student = UserFactory()
    EnrollmentFactory(student=student, course=secret_quiz.module.course)
    api = APIClient()
    api.force_authenticate(student)
    attempt_id = api.post(f"/api/contents/{secret_quiz.pk}/attempts/").json()["id"]
    result = api.post(
        f"/api/attempts/{attempt_id}/submit/", {"answers": {}}, format="json"
    ).content.decode()
    assert set(leaks(result)) >= {"MARKER-FEEDBACK", "MARKER-ACCEPTED", "7654321", "correct"}
    assert json.loads(result)["answers_shown"] is True
