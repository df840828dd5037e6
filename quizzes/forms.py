"""The study page's quiz form: its fields, read into the answer shapes grading expects."""

from django.utils.translation import gettext as _

from courses.models import Question

from .grading import AnswerError

Kind = Question.Kind
_NUMBER_MAX_LENGTH = 50


def answers_from_form(questions: list[dict], data) -> dict:
    """{question id: answer} from the POSTed fields `answer-<question id>`; a field left empty
    is no answer. AnswerError for an option id or a number that does not parse."""
    answers, errors = {}, {}
    for question in questions:
        key = str(question["id"])
        name = f"answer-{key}"
        kind = question["kind"]
        try:
            if kind in (Kind.SINGLE, Kind.MULTIPLE):
                values = data.getlist(name)
                if values:
                    answers[key] = [int(value) for value in values if len(value) <= 18]
            elif kind == Kind.TRUE_FALSE:
                value = data.get(name, "")
                if value:
                    answers[key] = {"true": True, "false": False}[value]
            elif kind == Kind.NUMERIC:
                value = data.get(name, "").strip().replace(",", ".")
                if value:
                    if len(value) > _NUMBER_MAX_LENGTH:
                        raise ValueError
                    answers[key] = float(value)
            else:
                value = data.get(name, "")
                if value.strip():
                    answers[key] = value
        except (ValueError, KeyError):
            errors[key] = _("Question %(text)s: this answer could not be read.") % {
                "text": question["text"][:80]
            }
    if errors:
        raise AnswerError(errors)
    return answers
