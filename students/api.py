"""The students API: enrollment, my courses with progress, marking contents done, my
certificates.

Adapters over students.services and students.selectors, like the HTML views.
"""

from django.contrib.auth import authenticate
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import permissions, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from courses.api.serializers import CourseLinksMixin, OwnerSerializer, SubjectRefSerializer
from courses.models import Course
from educa.api import StrictCharField, TokenThrottle
from educa.api_viewsets import ViewSet
from educa.site import absolute_url
from quizzes.selectors import quiz_grades_for_student

from .certificate_pdf import certificate_verification_url
from .models import Certificate
from .selectors import (
    certificate_list_for_student,
    content_get_for_member,
    course_get_for_enrollment,
    enrollment_list_for_student,
)
from .services import (
    content_completion_create,
    content_completion_delete,
    enrollment_create,
    enrollment_delete,
    token_issue,
    token_revoke,
)

INVALID_CREDENTIALS = _("Unable to log in with this username and password.")


class EnrollmentStateSerializer(serializers.Serializer):
    course = serializers.IntegerField()
    enrolled = serializers.BooleanField()


class CompletionStateSerializer(serializers.Serializer):
    content = serializers.IntegerField()
    done = serializers.BooleanField()


class ProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField(source="content_done", help_text="Contents done.")
    total = serializers.IntegerField(source="content_total", help_text="Contents in the course.")
    percent = serializers.IntegerField(source="progress", help_text="Rounded down: 100 = all.")


class MyCourseSummarySerializer(CourseLinksMixin, serializers.ModelSerializer):
    subject = SubjectRefSerializer()
    owner = OwnerSerializer()

    class Meta:
        model = Course
        fields = ["id", "title", "slug", "subject", "owner", "url", "page_url"]


class CompletionSerializer(serializers.Serializer):
    completed = serializers.DateTimeField(
        source="completed_at", allow_null=True, help_text="When the course was completed."
    )
    certificate = serializers.UUIDField(
        source="certificate_id", allow_null=True, help_text="The certificate's id, once issued."
    )


class QuizGradeSerializer(serializers.Serializer):
    content = serializers.IntegerField(source="content_id", help_text="The quiz content's id.")
    title = serializers.CharField()
    best_score = serializers.FloatField(
        source="best", allow_null=True, help_text="Best graded percent; null before one."
    )
    attempts = serializers.IntegerField(source="used", help_text="Attempts started.")
    attempts_allowed = serializers.IntegerField(
        source="allowed", allow_null=True, help_text="Null: unlimited."
    )
    passed = serializers.BooleanField()


class MyCourseSerializer(serializers.Serializer):
    course = MyCourseSummarySerializer()
    enrolled = serializers.DateTimeField(source="created")
    last_module = serializers.IntegerField(
        source="last_module_id", allow_null=True, help_text="Where the student left off."
    )
    progress = ProgressSerializer(source="*")
    completion = CompletionSerializer(source="*")
    grades = serializers.SerializerMethodField()

    @extend_schema_field(QuizGradeSerializer(many=True))
    def get_grades(self, enrollment) -> list:
        """The student's grade at each quiz of the course, in course order."""
        grades = self.context["grades"].get(enrollment.course_id, [])
        return QuizGradeSerializer(grades, many=True).data


def _course_for_enrollment(pk) -> Course:
    course = course_get_for_enrollment(course_id=pk)
    if course is None:
        raise Http404(_("No such course."))
    return course


class CourseEnrollmentViewSet(ViewSet):
    """Enrolling in a published course and leaving it; both are idempotent."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses=EnrollmentStateSerializer)
    @action(detail=True, methods=["post"])
    def enroll(self, request, pk):
        course = _course_for_enrollment(pk)
        enrollment_create(student=request.user, course=course)
        return Response({"course": course.pk, "enrolled": True})

    @extend_schema(request=None, responses=EnrollmentStateSerializer)
    @action(detail=True, methods=["post"])
    def unenroll(self, request, pk):
        course = _course_for_enrollment(pk)
        enrollment_delete(student=request.user, course=course)
        return Response({"course": course.pk, "enrolled": False})


class MyCourseViewSet(ViewSet):
    """The courses the user is enrolled in, newest enrollment first, with progress and quiz
    grades."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=MyCourseSerializer(many=True))
    def list(self, request):
        page = self.paginate_queryset(enrollment_list_for_student(student=request.user))
        # Only the requesting student's own attempts are read.
        grades = quiz_grades_for_student(
            student=request.user, course_ids=[enrollment.course_id for enrollment in page]
        )
        data = MyCourseSerializer(
            page, many=True, context={"request": request, "grades": grades}
        ).data
        return self.get_paginated_response(data)


class MyCertificateSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="The public page that verifies it.")
    pdf_url = serializers.SerializerMethodField()

    class Meta:
        model = Certificate
        fields = [
            "id",
            "course",
            "course_title",
            "student_name",
            "instructor_name",
            "issued_at",
            "revoked_at",
            "url",
            "pdf_url",
        ]

    def get_url(self, certificate) -> str:
        return certificate_verification_url(certificate)

    def get_pdf_url(self, certificate) -> str:
        return absolute_url(reverse("certificate_pdf", args=[certificate.pk]))


class MyCertificateViewSet(ViewSet):
    """The user's certificates, newest first, revoked ones included (revoked_at)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=MyCertificateSerializer(many=True))
    def list(self, request):
        page = self.paginate_queryset(certificate_list_for_student(student=request.user))
        return self.get_paginated_response(MyCertificateSerializer(page, many=True).data)


class ContentCompletionViewSet(ViewSet):
    """Marking a content done (POST) and not done (DELETE); both are idempotent."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(methods=["POST"], request=None, responses=CompletionStateSerializer)
    @extend_schema(methods=["DELETE"], responses={200: CompletionStateSerializer})
    @action(detail=True, methods=["post", "delete"])
    def done(self, request, pk):
        content = content_get_for_member(user=request.user, content_id=pk)
        if request.method == "POST":
            content_completion_create(student=request.user, content=content)
        else:
            content_completion_delete(student=request.user, content=content)
        return Response({"content": content.pk, "done": request.method == "POST"})


class TokenRequestSerializer(serializers.Serializer):
    username = StrictCharField(max_length=150)
    password = StrictCharField(max_length=4096, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`.")


class TokenView(APIView):
    """The user's API token: POST the username and password for it, DELETE it to revoke it.

    Throttled per client address at API_THROTTLE_TOKEN; failed log-ins also count towards the
    django-axes lock-out, as on the HTML log-in.
    """

    throttle_classes = [TokenThrottle]

    def get_authenticators(self):
        # The credentials of a POST are in its body; a stale token header must not refuse it.
        if getattr(self.request, "method", None) == "POST":
            return []
        return super().get_authenticators()

    def get_permissions(self):
        if getattr(self.request, "method", None) == "POST":
            return [permissions.AllowAny()]
        return [permissions.IsAuthenticated()]

    @extend_schema(request=TokenRequestSerializer, responses=TokenSerializer, auth=[])
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The DRF request is passed on: django-axes counts the failure against it.
        user = authenticate(request=request, **serializer.validated_data)
        if user is None:
            raise serializers.ValidationError(
                {api_settings.NON_FIELD_ERRORS_KEY: [INVALID_CREDENTIALS]}, code="authorization"
            )
        return Response({"token": token_issue(user=user).key})

    @extend_schema(request=None, responses={204: OpenApiResponse(description="Revoked.")})
    def delete(self, request):
        token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
