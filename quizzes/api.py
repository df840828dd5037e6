"""The quiz attempts API: start an attempt, submit it, list one's own.

Adapters over quizzes.services and quizzes.selectors, like the study page's views.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from courses.api.serializers import QuestionBaseSerializer, QuizOptionSerializer
from educa.api_viewsets import ViewSet

from .grading import AnswerError
from .models import Attempt
from .selectors import (
    attempt_data,
    attempt_get_for_student,
    quiz_content_get_for_member,
    quiz_progress_get,
)
from .services import AttemptConflict, attempt_start_with_progress, attempt_submit


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This cannot be done now.")
    default_code = "conflict"


class AttemptQuestionSerializer(QuestionBaseSerializer):
    options = QuizOptionSerializer(many=True, help_text="In this attempt's order.")
    answer = serializers.JSONField(required=False, help_text="Closed attempts: what was sent.")
    earned = serializers.FloatField(required=False, help_text="Graded attempts: points earned.")
    correct = serializers.BooleanField(required=False, help_text="When answers are shown.")
    feedback = serializers.CharField(required=False, help_text="When answers are shown.")
    correct_options = serializers.ListField(
        child=serializers.IntegerField(), required=False, help_text="When answers are shown."
    )
    correct_boolean = serializers.BooleanField(required=False, help_text="When answers are shown.")
    numeric_answer = serializers.FloatField(required=False, help_text="When answers are shown.")
    tolerance = serializers.FloatField(required=False, help_text="When answers are shown.")
    accepted_answers = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="When answers are shown."
    )


class AttemptSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField(help_text="1 for the student's first attempt.")
    status = serializers.ChoiceField(choices=Attempt.Status.choices)
    started = serializers.DateTimeField()
    deadline = serializers.DateTimeField(
        allow_null=True, help_text="Submissions later than 30 s after it are refused (409)."
    )
    submitted = serializers.DateTimeField(allow_null=True)
    attempts_left = serializers.IntegerField(allow_null=True, help_text="null: unlimited.")
    questions = AttemptQuestionSerializer(many=True)
    score = serializers.FloatField(required=False, allow_null=True)
    max_score = serializers.FloatField(required=False)
    percent = serializers.FloatField(required=False, allow_null=True)
    pass_mark = serializers.IntegerField(required=False)
    passed = serializers.BooleanField(required=False)
    answers_shown = serializers.BooleanField(
        required=False, help_text="Whether right answers and feedback are included."
    )


class AnswersSerializer(serializers.Serializer):
    answers = serializers.DictField(
        child=serializers.JSONField(),
        help_text=(
            "By question id: `[<option ids>]` for choice questions, `true`/`false`, a number, "
            "or a text. A question left out scores nothing."
        ),
    )


def _submit_body(request) -> object:
    if not isinstance(request.data, dict) or "answers" not in request.data:
        raise serializers.ValidationError({"answers": [_("This field is required.")]})
    return request.data["answers"]


class ContentAttemptViewSet(ViewSet):
    """A student's attempts at a quiz content."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        methods=["GET"],
        responses=AttemptSerializer(many=True),
        description="Your own attempts at this quiz, oldest first.",
    )
    @extend_schema(
        methods=["POST"],
        request=None,
        responses={
            201: AttemptSerializer,
            409: OpenApiResponse(description="No attempt left, or the quiz is passed."),
        },
        description=(
            "Start an attempt (or get back the one in progress): its questions in this "
            "attempt's order, without answers, and its deadline."
        ),
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def attempts(self, request, pk):
        content = quiz_content_get_for_member(user=request.user, content_id=pk)
        if request.method == "POST":
            try:
                attempt, progress = attempt_start_with_progress(
                    student=request.user, content=content
                )
            except AttemptConflict as error:
                raise Conflict(error.message) from None
            except DjangoPermissionDenied as error:
                raise exceptions.PermissionDenied(error.args[0]) from None
            return Response(attempt_data(attempt, progress=progress), status=201)
        progress = quiz_progress_get(student=request.user, content=content)
        return Response([attempt_data(a, progress=progress) for a in progress.attempts])


class AttemptViewSet(ViewSet):
    """One of the student's own attempts."""

    permission_classes = [permissions.IsAuthenticated]

    def _progress(self, attempt):
        return quiz_progress_get(student=self.request.user, content=attempt.content)

    @extend_schema(responses=AttemptSerializer)
    def retrieve(self, request, pk):
        attempt = attempt_get_for_student(student=request.user, attempt_id=pk)
        return Response(attempt_data(attempt, progress=self._progress(attempt)))

    @extend_schema(
        request=AnswersSerializer,
        responses={
            200: AttemptSerializer,
            409: OpenApiResponse(description="Submitted after the deadline and its grace."),
        },
        description=(
            "Grade the attempt. Submitting a graded attempt again returns the same result "
            "and records nothing."
        ),
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, pk):
        attempt = attempt_get_for_student(student=request.user, attempt_id=pk)
        try:
            attempt = attempt_submit(attempt=attempt, answers=_submit_body(request))
        except AnswerError as error:
            raise serializers.ValidationError(
                {"answers": {key: [message] for key, message in error.errors.items()}}
            ) from None
        except AttemptConflict as error:
            raise Conflict(error.message) from None
        return Response(attempt_data(attempt, progress=self._progress(attempt)))
