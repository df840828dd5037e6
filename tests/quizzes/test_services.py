import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from quizzes.grading import AnswerError
from quizzes.models import Attempt
from quizzes.services import (
    ATTEMPT_EXPIRED,
    ATTEMPTS_USED_UP,
    QUIZ_ALREADY_PASSED,
    AttemptConflict,
    attempt_start,
    attempt_submit,
)
from students.models import ContentCompletion
from students.services import QUIZ_NOT_BY_HAND, content_completion_create

from .conftest import right_answers

pytestmark = pytest.mark.django_db


def test_starting_twice_returns_the_open_attempt(quiz_content, enrolled):
    first = attempt_start(student=enrolled, content=quiz_content)
    assert attempt_start(student=enrolled, content=quiz_content).pk == first.pk


def test_an_attempt_keeps_a_copy_of_its_questions(quiz_content, quiz, enrolled):
    attempt = attempt_start(student=enrolled, content=quiz_content)
    quiz.questions.update(text="Changed later")
    attempt.refresh_from_db()
    assert [q["text"] for q in attempt.questions] != ["Changed later"] * 5


def test_right_answers_score_full_marks_and_pass(quiz_content, enrolled):
    attempt = attempt_start(student=enrolled, content=quiz_content)
    graded = attempt_submit(attempt=attempt, answers=right_answers(attempt))
    assert (graded.score, graded.max_score, graded.percent, graded.passed) == (6, 6, 100, True)


def test_a_pass_marks_the_quiz_done(quiz_content, enrolled):
    attempt = attempt_start(student=enrolled, content=quiz_content)
    attempt_submit(attempt=attempt, answers=right_answers(attempt))
    assert ContentCompletion.objects.filter(student=enrolled, content=quiz_content).exists()


def test_a_fail_leaves_the_quiz_not_done(quiz_content, enrolled):
    attempt = attempt_start(student=enrolled, content=quiz_content)
    graded = attempt_submit(attempt=attempt, answers={})
    assert (graded.score, graded.passed) == (0, False)
    assert not ContentCompletion.objects.filter(student=enrolled).exists()


def test_text_answers_ignore_case_and_surrounding_space(quiz_content, enrolled):
    attempt = attempt_start(student=enrolled, content=quiz_content)
    text = next(q for q in attempt.questions if q["kind"] == "text")
    graded = attempt_submit(attempt=attempt, answers={str(text["id"]): "  pARIS "})
    assert graded.score == 1


def test_numbers_within_tolerance_are_right(quiz_content, enrolled):
    attempt = attempt_start(student=enrolled, content=quiz_content)
    numeric = next(q for q in attempt.questions if q["kind"] == "numeric")
    graded = attempt_submit(attempt=attempt, answers={str(numeric["id"]): 3.149})
    assert graded.score == 1


def test_partial_credit_counts_right_options_less_wrong_ones(quiz_content, enrolled):
    attempt = attempt_start(student=enrolled, content=quiz_content)
    multiple = next(q for q in attempt.questions if q["kind"] == "multiple")
    graded = attempt_submit(attempt=attempt, answers={str(multiple["id"]): [1]})
    assert graded.score == 1  # half of 2 points


def test_all_or_nothing_gives_nothing_for_a_partly_right_choice(quiz_content, quiz, enrolled):
    quiz.questions.filter(kind="multiple").update(partial_credit=False)
    attempt = attempt_start(student=enrolled, content=quiz_content)
    multiple = next(q for q in attempt.questions if q["kind"] == "multiple")
    assert attempt_submit(attempt=attempt, answers={str(multiple["id"]): [1]}).score == 0


def test_a_second_submission_returns_the_first_result(quiz_content, enrolled):
    attempt = attempt_start(student=enrolled, content=quiz_content)
    first = attempt_submit(attempt=attempt, answers=right_answers(attempt))
    again = attempt_submit(attempt=Attempt.objects.get(pk=attempt.pk), answers={})
    assert (again.score, again.submitted) == (first.score, first.submitted)


def test_a_stale_copy_submitted_again_records_nothing(quiz_content, enrolled):
    attempt = attempt_start(student=enrolled, content=quiz_content)
    stale = Attempt.objects.get(pk=attempt.pk)
    attempt_submit(attempt=attempt, answers=right_answers(attempt))
    again = attempt_submit(attempt=stale, answers={})
    assert again.score == 6


def test_wrong_answer_shapes_name_the_question(quiz_content, enrolled):
    attempt = attempt_start(student=enrolled, content=quiz_content)
    single = attempt.questions[0]
    with pytest.raises(AnswerError) as error:
        attempt_submit(attempt=attempt, answers={str(single["id"]): "yes", "999999": 1})
    assert set(error.value.errors) == {str(single["id"]), "999999"}
    assert Attempt.objects.get(pk=attempt.pk).is_open


def test_a_late_submission_is_refused_and_recorded_as_expired(quiz_content, quiz, enrolled):
    quiz.time_limit = 5
    quiz.save()
    attempt = attempt_start(student=enrolled, content=quiz_content)
    late = attempt.deadline + timedelta(seconds=31)
    with pytest.raises(AttemptConflict, match=str(ATTEMPT_EXPIRED)[:20]):
        attempt_submit(attempt=attempt, answers=right_answers(attempt), now=late)
    assert Attempt.objects.get(pk=attempt.pk).status == Attempt.Status.EXPIRED


def test_a_submission_within_the_grace_is_graded(quiz_content, quiz, enrolled):
    quiz.time_limit = 5
    quiz.save()
    attempt = attempt_start(student=enrolled, content=quiz_content)
    in_grace = attempt.deadline + timedelta(seconds=29)
    graded = attempt_submit(attempt=attempt, answers=right_answers(attempt), now=in_grace)
    assert graded.passed


def test_no_attempt_starts_once_all_are_used(quiz_content, quiz, enrolled):
    quiz.attempts_allowed = 1
    quiz.save()
    attempt_submit(attempt=attempt_start(student=enrolled, content=quiz_content), answers={})
    with pytest.raises(AttemptConflict, match=str(ATTEMPTS_USED_UP)):
        attempt_start(student=enrolled, content=quiz_content)


def test_no_attempt_starts_after_a_pass(quiz_content, enrolled):
    attempt = attempt_start(student=enrolled, content=quiz_content)
    attempt_submit(attempt=attempt, answers=right_answers(attempt))
    with pytest.raises(AttemptConflict, match=str(QUIZ_ALREADY_PASSED)):
        attempt_start(student=enrolled, content=quiz_content)


def test_shuffled_options_keep_their_ids(quiz_content, quiz, enrolled):
    quiz.shuffle_options = True
    quiz.save()
    attempt = attempt_start(student=enrolled, content=quiz_content)
    multiple = next(q for q in attempt.questions if q["kind"] == "multiple")
    assert sorted(o["id"] for o in multiple["options"]) == [1, 2, 3]


def test_a_quiz_cannot_be_marked_done_by_hand(quiz_content, enrolled):
    with pytest.raises(ValidationError, match=str(QUIZ_NOT_BY_HAND)):
        content_completion_create(student=enrolled, content=quiz_content)


def test_an_expired_attempt_counts_as_used(quiz_content, quiz, enrolled):
    quiz.time_limit, quiz.attempts_allowed = 1, 1
    quiz.save()
    attempt_start(student=enrolled, content=quiz_content)
    with pytest.raises(AttemptConflict, match=str(ATTEMPTS_USED_UP)):
        attempt_start(
            student=enrolled, content=quiz_content, now=timezone.now() + timedelta(minutes=2)
        )


@pytest.mark.django_db(transaction=True)
def test_a_double_submit_is_recorded_once(quiz_content, enrolled):
    attempt = attempt_start(student=enrolled, content=quiz_content)
    answers = right_answers(attempt)
    barrier = threading.Barrier(2)
    results = []

    def submit_copy():
        try:
            copy = Attempt.objects.get(pk=attempt.pk)
            barrier.wait()
            results.append(attempt_submit(attempt=copy, answers=answers).submitted)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit_copy) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2 and results[0] == results[1]
    assert ContentCompletion.objects.filter(student=enrolled).count() == 1


def test_a_refused_start_still_records_a_late_attempt_as_expired(quiz_content, quiz, enrolled):
    quiz.time_limit, quiz.attempts_allowed = 1, 1
    quiz.save()
    attempt = attempt_start(student=enrolled, content=quiz_content)
    with pytest.raises(AttemptConflict):
        attempt_start(
            student=enrolled, content=quiz_content, now=timezone.now() + timedelta(minutes=2)
        )
    assert Attempt.objects.get(pk=attempt.pk).status == Attempt.Status.EXPIRED


def test_the_course_owner_starts_no_attempt(quiz_content):
    with pytest.raises(PermissionDenied):
        attempt_start(student=quiz_content.module.course.owner, content=quiz_content)
