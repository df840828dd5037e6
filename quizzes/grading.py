"""Checking and scoring answers against an attempt's copy of its questions (no database).

A question copy is a dict (quizzes.services.question_snapshot); an answer is, per kind:
single and multiple choice a list of option ids, true/false a boolean, numeric a number,
short text a string.
"""

import math

from django.utils.translation import gettext as _

from courses.models import QUESTION_ANSWER_MAX_LENGTH, Question

Kind = Question.Kind


class AnswerError(ValueError):
    """An answer of the wrong shape; `errors` maps question ids (str) to messages."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def _option_ids(question: dict, answer) -> list[int]:
    if not isinstance(answer, list) or not all(type(value) is int for value in answer):
        raise ValueError(_("Send a list of option ids."))
    known = {option["id"] for option in question["options"]}
    if len(set(answer)) != len(answer) or not set(answer) <= known:
        raise ValueError(_("Choose among this question's options, each once."))
    if question["kind"] == Kind.SINGLE and len(answer) > 1:
        raise ValueError(_("Choose one option only."))
    return sorted(answer)


def answer_clean(question: dict, answer):
    """The answer in its stored form; ValueError (with a message) if its shape is wrong.

    None (no answer) is accepted for every kind and scores nothing.
    """
    if answer is None:
        return None
    kind = question["kind"]
    if kind in (Kind.SINGLE, Kind.MULTIPLE):
        return _option_ids(question, answer)
    if kind == Kind.TRUE_FALSE:
        if type(answer) is not bool:
            raise ValueError(_("Send true or false."))
        return answer
    if kind == Kind.NUMERIC:
        if type(answer) not in (int, float) or not math.isfinite(answer):
            raise ValueError(_("Send a number."))
        return answer
    if not isinstance(answer, str) or len(answer) > QUESTION_ANSWER_MAX_LENGTH:
        raise ValueError(_("Send a text of at most %(max)s characters.") % {
            "max": QUESTION_ANSWER_MAX_LENGTH
        })  # fmt: skip
    return answer


def answers_clean(questions: list[dict], answers) -> dict[str, object]:
    """Every answer checked against its question; AnswerError naming each wrong one."""
    if not isinstance(answers, dict):
        raise AnswerError({"answers": _('Send an object {"<question id>": <answer>}.')})
    by_id = {str(question["id"]): question for question in questions}
    cleaned, errors = {}, {}
    for key, answer in answers.items():
        question = by_id.get(str(key))
        if question is None:
            errors[str(key)] = _("This quiz attempt has no question %(id)s.") % {"id": key}
            continue
        try:
            cleaned[str(key)] = answer_clean(question, answer)
        except ValueError as error:
            errors[str(key)] = str(error)
    if errors:
        raise AnswerError(errors)
    return cleaned


def _normalised(text: str) -> str:
    return text.strip().casefold()


def question_fraction(question: dict, answer) -> float:
    """How much of the question's points the (cleaned) answer earns, from 0 to 1."""
    if answer is None:
        return 0.0
    kind = question["kind"]
    if kind in (Kind.SINGLE, Kind.MULTIPLE):
        correct = {option["id"] for option in question["options"] if option["correct"]}
        chosen = set(answer)
        if chosen == correct:
            return 1.0
        if kind == Kind.MULTIPLE and question["partial_credit"]:
            # Each right option earns its share; each wrong one takes a share back.
            share = (len(chosen & correct) - len(chosen - correct)) / len(correct)
            return max(0.0, share)
        return 0.0
    if kind == Kind.TRUE_FALSE:
        return 1.0 if answer is question["correct_boolean"] else 0.0
    if kind == Kind.NUMERIC:
        # A little slack for binary fractions: 0.1 + 0.2 within 0 of 0.3.
        slack = question["tolerance"] + 1e-9 * max(1.0, abs(question["numeric_answer"]))
        return 1.0 if abs(answer - question["numeric_answer"]) <= slack else 0.0
    accepted = {_normalised(text) for text in question["accepted_answers"]}
    return 1.0 if _normalised(answer) in accepted else 0.0


def attempt_grade(questions: list[dict], answers: dict[str, object]) -> tuple[list[dict], float]:
    """Per-question results ({"id", "earned", "correct"}) and the total score."""
    results = []
    for question in questions:
        fraction = question_fraction(question, answers.get(str(question["id"])))
        earned = round(question["points"] * fraction, 2)
        results.append({"id": question["id"], "earned": earned, "correct": fraction == 1.0})
    return results, round(sum(result["earned"] for result in results), 2)
