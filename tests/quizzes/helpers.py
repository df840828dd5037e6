"""Quizzes with graded attempts, through the real services."""

from quizzes.services import attempt_start, attempt_submit
from tests.factories import ModuleFactory, QuestionFactory, QuizContentFactory

from .conftest import right_answers


def quiz_in(course, *, title="Quiz", attempts_allowed=3, module=None, questions=2):
    """A quiz of one-point single-choice questions, passed only with every answer right: with
    two questions, one right scores 50 %."""
    module = module or ModuleFactory(course=course)
    content = QuizContentFactory(
        module=module,
        item__title=title,
        item__attempts_allowed=attempts_allowed,
        item__pass_mark=100,
    )
    QuestionFactory.create_batch(questions, quiz=content.item)
    return content


def take(student, content, *, right: int = 0, wrong_ids=None):
    """One graded attempt: the first `right` questions of the quiz (in their order) answered
    right and the others wrong, or, with `wrong_ids`, every question right but those."""
    attempt = attempt_start(student=student, content=content)
    answers = right_answers(attempt)
    ids = sorted(question["id"] for question in attempt.questions)
    wrong = ids[right:] if wrong_ids is None else wrong_ids
    for question_id in wrong:
        answers[str(question_id)] = [2]  # option 2 is the wrong one (QuestionFactory)
    return attempt_submit(attempt=attempt, answers=answers)
