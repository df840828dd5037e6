"""Reads about quiz attempts, and what of a quiz a student may see (never an answer early)."""

from dataclasses import dataclass, field

from django.db.models import Exists, F, Func, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils.translation import gettext as _

from courses.models import Question, Quiz
from courses.selectors import quiz_content_list_for_courses
from educa.cache_tokens import cache_token, cache_token_bump
from educa.db import first_or_404
from students.selectors import content_check_member, content_get_for_member

from .models import Attempt

Kind = Question.Kind


def question_public(question: dict) -> dict:
    """What a student sees of a question before answering: no answer, no feedback."""
    return {
        "id": question["id"],
        "kind": question["kind"],
        "text": question["text"],
        "points": question["points"],
        "options": [{"id": o["id"], "text": o["text"]} for o in question["options"]],
    }


def question_answer(question: dict) -> dict:
    """The right answer of a question copy, in the shape a student would send it."""
    kind = question["kind"]
    if kind in (Kind.SINGLE, Kind.MULTIPLE):
        return {"correct_options": [o["id"] for o in question["options"] if o["correct"]]}
    if kind == Kind.TRUE_FALSE:
        return {"correct_boolean": question["correct_boolean"]}
    if kind == Kind.NUMERIC:
        return {"numeric_answer": question["numeric_answer"], "tolerance": question["tolerance"]}
    return {"accepted_answers": question["accepted_answers"]}


@dataclass
class QuizProgress:
    """A student's attempts at one quiz, oldest first."""

    quiz: Quiz
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def used(self) -> int:
        return len(self.attempts)

    @property
    def passed(self) -> bool:
        return any(attempt.passed for attempt in self.attempts)

    @property
    def attempts_left(self) -> int | None:
        """None when attempts are unlimited."""
        allowed = self.quiz.attempts_allowed
        return None if allowed is None else max(0, allowed - self.used)

    @property
    def open_attempt(self) -> Attempt | None:
        return next((attempt for attempt in self.attempts if attempt.is_open), None)

    @property
    def last_closed(self) -> Attempt | None:
        closed = [attempt for attempt in self.attempts if not attempt.is_open]
        return closed[-1] if closed else None

    @property
    def can_start(self) -> bool:
        return not self.passed and self.attempts_left != 0

    @property
    def answers_shown(self) -> bool:
        """Whether closed attempts may show the right answers and feedback now."""
        shown = self.quiz.answers_shown
        if shown == Quiz.AnswersShown.AFTER_EACH:
            return True
        if shown == Quiz.AnswersShown.AFTER_LAST:
            return self.passed or (self.attempts_left == 0 and self.open_attempt is None)
        return False


def quiz_progress_for_contents(*, student, contents) -> dict[int, QuizProgress]:
    """Per quiz content id, the student's attempts (one query for all of them).

    `contents` are Content rows with their quiz items loaded.
    """
    quizzes = {content.pk: content.item for content in contents if content.kind == "quiz"}
    progress = {pk: QuizProgress(quiz=quiz) for pk, quiz in quizzes.items()}
    if progress:
        attempts = Attempt.objects.filter(student=student, content_id__in=list(progress))
        for attempt in attempts.order_by("number"):
            progress[attempt.content_id].attempts.append(attempt)
    return progress


def quiz_progress_get(*, student, content) -> QuizProgress:
    return quiz_progress_for_contents(student=student, contents=[content])[content.pk]


def _attempts_version_key(*, student_id: int, course_id: int) -> str:
    return f"quizzes:attempts:{course_id}:{student_id}"


def attempts_version(*, student_id: int, course_id: int) -> str:
    """A token that changes whenever one of the student's attempts in the course starts or
    ends: part of the cache keys of what shows them (the study page's quiz panels and grades)."""
    return cache_token(_attempts_version_key(student_id=student_id, course_id=course_id))


def attempts_version_bump(*, student_id: int, course_id: int) -> None:
    cache_token_bump(_attempts_version_key(student_id=student_id, course_id=course_id))


@dataclass(frozen=True)
class QuizGrade:
    """One student's standing at one quiz: `best` is the best graded percent (None before a
    graded attempt), `used` the attempts started, `allowed` None when unlimited."""

    content_id: int
    module_id: int
    title: str
    best: float | None
    used: int
    allowed: int | None
    passed: bool


def quiz_grades_for_student(*, student, course_ids) -> dict[int, list[QuizGrade]]:
    """Per course id, the student's grade at each of its quizzes in course order, quizzes not
    yet tried included (one query, whatever the number of courses, quizzes or attempts).

    Only the student's own attempts are read.
    """
    course_ids = list(course_ids)
    grades = {course_id: [] for course_id in course_ids}
    if not course_ids:
        return grades
    attempts = Attempt.objects.filter(student=student, content_id=OuterRef("pk")).order_by()
    graded = attempts.filter(status=Attempt.Status.GRADED).order_by("-percent")
    used = attempts.annotate(n=Func(F("pk"), function="COUNT", output_field=IntegerField()))
    contents = quiz_content_list_for_courses(course_ids=course_ids).annotate(
        best=Subquery(graded.values("percent")[:1]),
        used=Coalesce(Subquery(used.values("n")), 0),
        passed=Exists(attempts.filter(passed=True)),
    )
    for content in contents:
        grades[content.course_id].append(
            QuizGrade(
                content_id=content.pk,
                module_id=content.module_id,
                title=content.quiz_title,
                best=content.best,
                used=content.used,
                allowed=content.attempts_allowed,
                passed=content.passed,
            )
        )
    return grades


def attempt_get_for_student(*, student, attempt_id: int) -> Attempt:
    """The student's own attempt, in a course they still belong to; Http404 otherwise."""
    attempt = first_or_404(
        Attempt.objects.select_related("content__module__course").filter(
            pk=attempt_id, student=student
        ),
        _("No such attempt."),
    )
    content_check_member(user=student, content=attempt.content)
    attempt.student = student
    return attempt


def quiz_content_get_for_member(*, user, content_id: int):
    """A quiz content of a course the user belongs to; Http404 otherwise.

    Its quiz (content.item) is read when first used, or with its questions by
    quiz_with_questions: starting an attempt needs both, in one query.
    """
    content = content_get_for_member(user=user, content_id=content_id)
    if content.kind != "quiz":
        raise Http404(_("This content is not a quiz."))
    return content


def quiz_with_questions(content) -> tuple[Quiz, list[Question]]:
    """The content's quiz and its questions, in order (one query); Http404 if the quiz is gone.

    Sets content.item to the quiz.
    """
    questions = list(Question.objects.filter(quiz_id=content.object_id).select_related("quiz"))
    quiz = questions[0].quiz if questions else Quiz.objects.filter(pk=content.object_id).first()
    if quiz is None:
        raise Http404(_("This content is not a quiz."))
    content.item = quiz
    return quiz, questions


def attempt_data(attempt: Attempt, *, progress: QuizProgress) -> dict:
    """An attempt as its student may see it now: open, its questions; closed, its result, with
    the right answers and feedback only when the quiz's setting allows."""
    data = {
        "id": attempt.pk,
        "number": attempt.number,
        "status": attempt.status,
        "started": attempt.started,
        "deadline": attempt.deadline,
        "submitted": attempt.submitted,
        "attempts_left": progress.attempts_left,
    }
    if attempt.is_open:
        data["questions"] = [question_public(q) for q in attempt.questions]
        return data
    shown = progress.answers_shown
    given = attempt.answers or {}
    results = {result["id"]: result for result in attempt.results}
    questions = []
    for question in attempt.questions:
        entry = {**question_public(question), "answer": given.get(str(question["id"]))}
        if attempt.status == Attempt.Status.GRADED:
            entry["earned"] = results[question["id"]]["earned"]
        if shown:
            entry["correct"] = results.get(question["id"], {}).get("correct", False)
            entry.update(question_answer(question), feedback=question["feedback"])
        questions.append(entry)
    data.update(
        score=attempt.score,
        max_score=attempt.max_score,
        percent=attempt.percent,
        pass_mark=attempt.pass_mark,
        passed=attempt.passed,
        answers_shown=shown,
        questions=questions,
    )
    return data


def attempt_list_for_module(*, student, module) -> list[Attempt]:
    """The student's attempts at the module's quizzes (one query), by quiz then number."""
    return list(
        Attempt.objects.filter(student=student, content__module=module).order_by(
            "content_id", "number"
        )
    )


def quiz_progress_for_module(
    *, quizzes: dict[int, Quiz], attempts: list[Attempt]
) -> dict[int, QuizProgress]:
    """Per quiz content id of the module, its quiz (from `quizzes`, the module's by content id,
    as courses.cache keeps them with its rendered contents) with the given attempts (no query)."""
    progress = {pk: QuizProgress(quiz=quiz) for pk, quiz in quizzes.items()}
    for attempt in attempts:
        if attempt.content_id in progress:
            progress[attempt.content_id].attempts.append(attempt)
    return progress


def _answer_text(question: dict, answer) -> str:
    if answer is None or answer == []:
        return ""
    kind = question["kind"]
    if kind in (Kind.SINGLE, Kind.MULTIPLE):
        texts = {option["id"]: option["text"] for option in question["options"]}
        return ", ".join(texts.get(option_id, "?") for option_id in answer)
    if kind == Kind.TRUE_FALSE:
        return str(_("True") if answer else _("False"))
    return str(answer)


def _right_answer_text(question: dict) -> str:
    kind = question["kind"]
    if kind in (Kind.SINGLE, Kind.MULTIPLE):
        return ", ".join(o["text"] for o in question["options"] if o["correct"])
    if kind == Kind.TRUE_FALSE:
        return str(_("True") if question["correct_boolean"] else _("False"))
    if kind == Kind.NUMERIC:
        if question["tolerance"]:
            return f"{question['numeric_answer']:g} ± {question['tolerance']:g}"
        return f"{question['numeric_answer']:g}"
    return " / ".join(question["accepted_answers"])


@dataclass
class QuizPanel:
    """What the study page shows of a quiz to one student."""

    progress: QuizProgress
    open: dict | None
    result: dict | None


def quiz_panel(progress: QuizProgress) -> QuizPanel:
    """The open attempt's questions, or the last result with answers as the setting allows."""
    open_attempt = progress.open_attempt
    last = progress.last_closed
    result = None
    if last is not None:
        result = attempt_data(last, progress=progress)
        by_id = {question["id"]: question for question in last.questions}
        for entry in result["questions"]:
            question = by_id[entry["id"]]
            entry["answer_text"] = _answer_text(question, entry["answer"])
            if result["answers_shown"]:
                entry["right_answer_text"] = _right_answer_text(question)
    return QuizPanel(
        progress=progress,
        open=attempt_data(open_attempt, progress=progress) if open_attempt else None,
        result=result,
    )
