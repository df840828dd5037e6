"""The REST API under /api/: every app's endpoints, the token, the schema and its docs page.

Several view sets share the `courses` and `contents` prefixes: each app adds its own actions.
Anything else under /api/ is a JSON 404, whatever characters its path holds (handler404).
"""

from django.http import JsonResponse
from django.urls import include, path, re_path, register_converter
from django.utils.translation import gettext
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from chat.api import CourseMessageViewSet, MessageEditViewSet, NotificationViewSet
from courses.api.views import ContentViewSet, CourseViewSet, ModuleViewSet, SubjectViewSet
from educa.api_viewsets import IdConverter
from quizzes.api import AttemptViewSet, ContentAttemptViewSet
from students.api import (
    ContentCompletionViewSet,
    CourseEnrollmentViewSet,
    MyCertificateViewSet,
    MyCourseViewSet,
    TokenView,
)

app_name = "api"

# The view sets' path ids (educa.api_viewsets); registered before the router builds its paths.
register_converter(IdConverter, "id")

router = SimpleRouter(use_regex_path=False)
router.register("subjects", SubjectViewSet, basename="subject")
router.register("courses", CourseViewSet, basename="course")
router.register("courses", CourseEnrollmentViewSet, basename="course-enrollment")
router.register("courses", CourseMessageViewSet, basename="course-messages")
router.register("messages", MessageEditViewSet, basename="message")
router.register("modules", ModuleViewSet, basename="module")
router.register("contents", ContentViewSet, basename="content")
router.register("contents", ContentCompletionViewSet, basename="content-completion")
router.register("contents", ContentAttemptViewSet, basename="content-attempts")
router.register("attempts", AttemptViewSet, basename="attempt")
router.register("me/courses", MyCourseViewSet, basename="my-course")
router.register("me/certificates", MyCertificateViewSet, basename="my-certificate")
router.register("me/notifications", NotificationViewSet, basename="notification")


@csrf_exempt  # it changes nothing; a CSRF failure page here would be HTML
def not_found(request, path=""):
    return JsonResponse({"message": gettext("No such endpoint."), "code": "not_found"}, status=404)


def page_not_found(request, exception):
    """handler404: the JSON 404 under /api/ too for what the pattern above cannot match (a
    path with a newline, %0A); Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return not_found(request)
    return defaults.page_not_found(request, exception)


urlpatterns = [
    path("token/", TokenView.as_view(), name="token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("", include(router.urls)),
    re_path(r"^(?P<path>.*)$", not_found),
]
