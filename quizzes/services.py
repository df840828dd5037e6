"""Writes about quiz attempts: starting one, and submitting it for grading.

Grading happens here only, against the attempt's own copy of its questions.
"""

import random
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from courses.models import Content, Question
from students.services import content_completion_create

from .grading import answers_clean, attempt_grade
from .models import Attempt
from .selectors import QuizProgress, attempts_version_bump, quiz_with_questions

# A submission that left the browser just before the deadline still counts.
DEADLINE_GRACE = timedelta(seconds=30)

ATTEMPTS_USED_UP = _("You have used all your attempts at this quiz.")
QUIZ_ALREADY_PASSED = _("You have passed this quiz already.")
OWNER_TAKES_NO_QUIZ = _("You teach this course: its students take the quiz.")
QUIZ_HAS_NO_QUESTIONS = _("This quiz has no questions yet.")
ATTEMPT_START_RACED = _("Another attempt was started at the same moment; please try again.")
ATTEMPT_EXPIRED = _(
    "The time for this attempt ran out, so its answers were not accepted. It counts as an "
    "attempt with no score."
)


class AttemptConflict(Exception):
    """The attempt cannot be started or submitted now (used up, passed, expired): HTTP 409."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = str(message)


def question_snapshot(question: Question, *, shuffle: bool) -> dict:
    """The question as an attempt keeps it: what was asked and what was right."""
    options = [dict(option) for option in question.options]
    if shuffle:
        random.SystemRandom().shuffle(options)
    return {
        "id": question.pk,
        "kind": question.kind,
        "text": question.text,
        "points": question.points,
        "feedback": question.feedback,
        "options": options,
        "partial_credit": question.partial_credit,
        "correct_boolean": question.correct_boolean,
        "numeric_answer": question.numeric_answer,
        "tolerance": question.tolerance,
        "accepted_answers": list(question.accepted_answers),
    }


def _deadline_passed(attempt: Attempt, now) -> bool:
    return attempt.deadline is not None and now > attempt.deadline + DEADLINE_GRACE


def _expire_if_late(attempt: Attempt, now) -> bool:
    """Close an open attempt whose time is up, with no score; True if it was."""
    if attempt.is_open and _deadline_passed(attempt, now):
        attempt.status = Attempt.Status.EXPIRED
        attempt.save(update_fields=["status"])
        return True
    return False


def attempt_start(*, student, content: Content, now=None) -> Attempt:
    """The student's open attempt at the quiz, or a new one; AttemptConflict when none may start.

    An open attempt past its deadline is recorded as expired on the way, even when refused.
    Precondition: the student is a member of the content's course and it is a quiz.
    """
    return attempt_start_with_progress(student=student, content=content, now=now)[0]


def attempt_start_with_progress(
    *, student, content: Content, now=None
) -> tuple[Attempt, QuizProgress]:
    """attempt_start, with the student's attempts at the quiz as they now are (no re-read).

    PermissionDenied(OWNER_TAKES_NO_QUIZ) for the course's owner, who previews the quiz.
    """
    if content.module.course.owner_id == student.pk:
        raise PermissionDenied(OWNER_TAKES_NO_QUIZ)
    now = now or timezone.now()
    with transaction.atomic():
        attempt, attempts, refusal = _attempt_open_or_create(
            student=student, content=content, now=now
        )
        _attempts_changed(student_id=student.pk, content=content)
    if refusal is not None:
        raise AttemptConflict(refusal)
    return attempt, QuizProgress(quiz=content.item, attempts=attempts)


def _attempt_open_or_create(*, student, content: Content, now) -> tuple[Attempt | None, list, str]:
    """(the open or new attempt, all the student's attempts, None), or (None, [], why none may
    start). Inside a transaction; sets content.item (the quiz)."""
    attempts = list(Attempt.objects.select_for_update().filter(student=student, content=content))
    for attempt in attempts:
        _expire_if_late(attempt, now)
        if attempt.is_open:
            return attempt, attempts, None
    if any(attempt.passed for attempt in attempts):
        return None, [], QUIZ_ALREADY_PASSED
    quiz, questions = quiz_with_questions(content)
    if quiz.attempts_allowed is not None and len(attempts) >= quiz.attempts_allowed:
        return None, [], ATTEMPTS_USED_UP
    if not questions:
        return None, [], QUIZ_HAS_NO_QUESTIONS
    snapshot = [question_snapshot(q, shuffle=quiz.shuffle_options) for q in questions]
    attempt = Attempt(
        student=student,
        content=content,
        number=max((a.number for a in attempts), default=0) + 1,
        started=now,
        deadline=now + timedelta(minutes=quiz.time_limit) if quiz.time_limit else None,
        pass_mark=quiz.pass_mark,
        questions=snapshot,
        max_score=float(sum(q["points"] for q in snapshot)),
    )
    try:
        with transaction.atomic():
            attempt.save()
    except IntegrityError:
        # Another request started one meanwhile (the row lock above finds none to lock when
        # there were no attempts yet): that one is the student's open attempt.
        attempts = list(Attempt.objects.filter(student=student, content=content))
        attempt = next((a for a in attempts if a.is_open), None)
        if attempt is None:
            return None, [], ATTEMPT_START_RACED
        return attempt, attempts, None
    return attempt, [*attempts, attempt], None


def attempt_submit(*, attempt: Attempt, answers, now=None) -> Attempt:
    """Grade the attempt's answers and record them once.

    An attempt already graded comes back as it was (nothing recorded). AnswerError (400) for
    answers of the wrong shape; AttemptConflict once the deadline and its grace have passed
    (the attempt is then recorded as expired). A pass marks the quiz done for the student.

    `attempt` is as read at the start of the request. Its questions and deadline never change;
    its status may have, so each write is an UPDATE of the row only while it is still open:
    of two submits at once, one records and the other finds the row closed (read again).
    """
    now = now or timezone.now()
    if attempt.status == Attempt.Status.GRADED:
        return attempt
    if attempt.is_open and not _deadline_passed(attempt, now):
        cleaned = answers_clean(attempt.questions, answers)
        results, score = attempt_grade(attempt.questions, cleaned)
        percent = round(100 * score / attempt.max_score, 2) if attempt.max_score else 0
        graded = {
            "answers": cleaned,
            "results": results,
            "score": score,
            "percent": percent,
            "passed": percent >= attempt.pass_mark,
            "status": Attempt.Status.GRADED,
            "submitted": now,
        }
        with transaction.atomic():
            if _update_while_open(attempt, **graded) and attempt.passed:
                content_completion_create(
                    student=attempt.student, content=attempt.content, quiz_passed=True
                )
    else:
        answers_clean(attempt.questions, answers)
        if attempt.is_open:
            _update_while_open(attempt, status=Attempt.Status.EXPIRED)
    _attempts_changed(student_id=attempt.student_id, content=attempt.content)
    if attempt.status == Attempt.Status.EXPIRED:
        raise AttemptConflict(ATTEMPT_EXPIRED)
    return attempt


def _attempts_changed(*, student_id: int, content: Content) -> None:
    """What shows the student's attempts in the course is stale (the study page's fragment key
    has the attempts version): now, and again once committed, so that a page rendered meanwhile
    from the rows before the commit is not kept under the new version."""
    course_id = content.module.course_id

    def bump():
        attempts_version_bump(student_id=student_id, course_id=course_id)

    bump()
    transaction.on_commit(bump, robust=True)


def _update_while_open(attempt: Attempt, **values) -> bool:
    """Write `values` to the attempt's row if it is still open (one query), and to `attempt`;
    False, with `attempt` read again, when another request closed it first."""
    updated = Attempt.objects.filter(pk=attempt.pk, status=Attempt.Status.OPEN).update(**values)
    if not updated:
        attempt.refresh_from_db()
        return False
    for name, value in values.items():
        setattr(attempt, name, value)
    return True
