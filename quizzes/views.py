"""Taking a quiz from the study page: start an attempt, submit it."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from students.views import PostActionMixin

from .forms import answers_from_form
from .grading import AnswerError
from .selectors import attempt_get_for_student, quiz_content_get_for_member
from .services import AttemptConflict, attempt_start, attempt_submit


def _quiz_url(content) -> str:
    module = content.module
    url = reverse("student_course_detail_module", args=[module.course_id, module.pk])
    return f"{url}#content-{content.pk}"


def _refused(request, messages, *, status, content):
    return render(
        request,
        "quizzes/refused.html",
        {"errors": messages, "back_url": _quiz_url(content)},
        status=status,
    )


class AttemptStartView(PostActionMixin, View):
    def post(self, request, content_id):
        content = quiz_content_get_for_member(user=request.user, content_id=content_id)
        try:
            attempt_start(student=request.user, content=content)
        except AttemptConflict as error:
            return _refused(request, [error.message], status=409, content=content)
        except PermissionDenied as error:
            return _refused(request, [error.args[0]], status=403, content=content)
        return redirect(_quiz_url(content))


class AttemptSubmitView(PostActionMixin, View):
    def post(self, request, attempt_id):
        attempt = attempt_get_for_student(student=request.user, attempt_id=attempt_id)
        content = attempt.content
        try:
            answers = answers_from_form(attempt.questions, request.POST)
            attempt_submit(attempt=attempt, answers=answers)
        except AnswerError as error:
            return _refused(request, list(error.errors.values()), status=400, content=content)
        except AttemptConflict as error:
            return _refused(request, [error.message], status=409, content=content)
        return redirect(_quiz_url(content))
