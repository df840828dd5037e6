"""Taking a quiz from the study page."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from courses.models import Quiz
from quizzes.models import Attempt
from quizzes.services import attempt_start, attempt_submit
from students.models import ContentCompletion
from students.services import QUIZ_NOT_BY_HAND
from tests.factories import (
    ContentFactory,
    EnrollmentFactory,
    ModuleFactory,
    QuestionFactory,
    QuizContentFactory,
    UserFactory,
)

from .conftest import right_answers

pytestmark = pytest.mark.django_db


def study_url(content):
    return reverse(
        "student_course_detail_module", args=[content.module.course_id, content.module_id]
    )


def form_data(attempt, answers):
    """The study page's POST fields for JSON-shaped answers."""
    data = {}
    for key, answer in answers.items():
        if isinstance(answer, bool):
            data[f"answer-{key}"] = "true" if answer else "false"
        elif isinstance(answer, list):
            data[f"answer-{key}"] = [str(option) for option in answer]
        else:
            data[f"answer-{key}"] = str(answer)
    return data


@pytest.fixture
def student_client(client, enrolled):
    client.force_login(enrolled)
    return client


def test_the_study_page_offers_to_start_the_quiz(student_client, quiz_content):
    html = student_client.get(study_url(quiz_content)).content.decode()
    assert reverse("quiz_attempt_start", args=[quiz_content.pk]) in html
    assert reverse("content_mark_done", args=[quiz_content.pk]) not in html


def test_starting_shows_the_questions_on_the_study_page(student_client, quiz_content):
    response = student_client.post(reverse("quiz_attempt_start", args=[quiz_content.pk]))
    assert response.status_code == 302
    attempt = Attempt.objects.get()
    html = student_client.get(study_url(quiz_content)).content.decode()
    assert reverse("quiz_attempt_submit", args=[attempt.pk]) in html
    assert all(question["text"] in html for question in attempt.questions)


def test_submitting_right_answers_shows_a_pass_and_marks_the_quiz_done(
    student_client, quiz_content, enrolled
):
    student_client.post(reverse("quiz_attempt_start", args=[quiz_content.pk]))
    attempt = Attempt.objects.get()
    url = reverse("quiz_attempt_submit", args=[attempt.pk])
    response = student_client.post(url, form_data(attempt, right_answers(attempt)))
    assert response.status_code == 302
    html = student_client.get(study_url(quiz_content)).content.decode()
    assert "Passed" in html
    assert ContentCompletion.objects.filter(student=enrolled, content=quiz_content).exists()


def test_a_failed_attempt_shows_the_score_and_attempts_left(student_client, quiz_content, quiz):
    quiz.attempts_allowed = 3
    quiz.save()
    student_client.post(reverse("quiz_attempt_start", args=[quiz_content.pk]))
    attempt = Attempt.objects.get()
    student_client.post(reverse("quiz_attempt_submit", args=[attempt.pk]), {})
    html = student_client.get(study_url(quiz_content)).content.decode()
    assert "Score: 0 of 6 (0 %)" in html
    assert "2 attempts left." in html
    assert "Try again" in html


def test_answers_stay_hidden_when_the_quiz_never_shows_them(
    student_client, quiz_content, quiz, enrolled
):
    quiz.answers_shown = Quiz.AnswersShown.NEVER
    quiz.save()
    attempt = attempt_start(student=enrolled, content=quiz_content)
    attempt_submit(attempt=attempt, answers={})
    html = student_client.get(study_url(quiz_content)).content.decode()
    assert "Right answer:" not in html
    assert "Paname" not in html


def test_answers_show_after_each_attempt_when_asked(student_client, quiz_content, quiz, enrolled):
    quiz.answers_shown = Quiz.AnswersShown.AFTER_EACH
    quiz.save()
    attempt_submit(attempt=attempt_start(student=enrolled, content=quiz_content), answers={})
    html = student_client.get(study_url(quiz_content)).content.decode()
    assert "Paris / Paname" in html


def test_a_late_submission_is_refused_with_a_message(student_client, quiz_content, enrolled):
    attempt = attempt_start(student=enrolled, content=quiz_content)
    Attempt.objects.filter(pk=attempt.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    response = student_client.post(reverse("quiz_attempt_submit", args=[attempt.pk]), {})
    assert response.status_code == 409
    assert "The time for this attempt ran out" in response.content.decode()
    assert Attempt.objects.get().status == Attempt.Status.EXPIRED


def test_an_unreadable_number_is_a_400(student_client, quiz_content, enrolled):
    attempt = attempt_start(student=enrolled, content=quiz_content)
    numeric = next(q for q in attempt.questions if q["kind"] == "numeric")
    url = reverse("quiz_attempt_submit", args=[attempt.pk])
    response = student_client.post(url, {f"answer-{numeric['id']}": "three"})
    assert response.status_code == 400
    assert Attempt.objects.get().is_open


def test_another_students_attempt_is_not_found(client, quiz_content, enrolled):
    attempt = attempt_start(student=enrolled, content=quiz_content)
    other = UserFactory()
    EnrollmentFactory(student=other, course=quiz_content.module.course)
    client.force_login(other)
    response = client.post(reverse("quiz_attempt_submit", args=[attempt.pk]), {})
    assert response.status_code == 404


def test_marking_a_quiz_done_by_hand_is_a_400(student_client, quiz_content):
    response = student_client.post(reverse("content_mark_done", args=[quiz_content.pk]))
    assert response.status_code == 400
    assert str(QUIZ_NOT_BY_HAND) in response.content.decode()


def _study_queries(client, content) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(study_url(content)).status_code == 200
    return len(queries)


def test_the_study_page_costs_the_same_queries_whatever_the_questions_and_attempts(
    client, settings
):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    counts = []
    for size in (1, 6):
        content = QuizContentFactory()
        for _ in range(size):
            QuestionFactory(quiz=content.item)
        student = UserFactory()
        EnrollmentFactory(student=student, course=content.module.course)
        for _ in range(size):
            attempt_submit(attempt=attempt_start(student=student, content=content), answers={})
        client.force_login(student)
        _study_queries(client, content)  # the session's first request differs
        counts.append(_study_queries(client, content))
    assert counts[0] == counts[1]


def test_question_and_option_text_is_escaped_on_the_study_page(
    student_client, quiz_content, quiz, enrolled
):
    QuestionFactory(
        quiz=quiz,
        text="<script>alert(1)</script>",
        options=[
            {"id": 1, "text": "<img src=x onerror=alert(2)>", "correct": True},
            {"id": 2, "text": "B", "correct": False},
        ],
    )
    attempt_start(student=enrolled, content=quiz_content)
    html = student_client.get(study_url(quiz_content)).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html


# The study page read again, its fragment cached: session, user, course with the enrollment,
# contents done, permissions, unread chat messages. Attempts and grades are read only to render
# the fragment again (its key has the student's attempts version, from the cache).
STUDY_REPEAT_QUERIES = 6


def test_the_study_page_read_again_reads_no_quiz_whatever_the_questions_and_attempts(
    client, memcached_cache
):
    for size in (1, 6):
        content = QuizContentFactory()
        QuestionFactory.create_batch(size, quiz=content.item)
        student = UserFactory()
        EnrollmentFactory(student=student, course=content.module.course)
        for _ in range(size):
            attempt_submit(attempt=attempt_start(student=student, content=content), answers={})
        client.force_login(student)
        client.get(study_url(content))  # caches the contents and sets the CSRF cookie
        client.get(study_url(content))  # caches the page's fragment (it needs the CSRF cookie)
        with CaptureQueriesContext(connection) as queries:
            html = client.get(study_url(content)).content.decode()
        assert len(queries) == STUDY_REPEAT_QUERIES
        # The grades read quiz titles in a subquery; no query reads the quiz rows themselves.
        quiz_reads = [
            q for q in queries.captured_queries if q["sql"].startswith('SELECT "courses_quiz"')
        ]
        assert not quiz_reads
        assert f"<h4>Attempt {size}</h4>" in html  # the last result, from the cached quiz


def test_the_study_page_of_a_course_without_a_quiz_reads_no_attempts(client):
    module = ModuleFactory()
    ContentFactory(module=module)
    student = UserFactory()
    EnrollmentFactory(student=student, course=module.course)
    url = reverse("student_course_detail_module", args=[module.course_id, module.pk])
    client.force_login(student)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    assert not [q for q in queries.captured_queries if "quizzes_attempt" in q["sql"]]
