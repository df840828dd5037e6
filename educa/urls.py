from django.contrib import admin
from django.urls import include, path

from courses.views import CourseListView, InstructorHomeView
from educa.health import healthz, readyz
from educa.views import FaviconView, javascript_catalog
from students.views import CourseGradebookView, LanguageSwitchView

urlpatterns = [
    path("", CourseListView.as_view(), name="course_list"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("favicon.ico", FaviconView.as_view(), name="favicon"),
    path("accounts/", include("students.account_urls")),
    path("language/<str:code>/", LanguageSwitchView.as_view(), name="language_switch"),
    path("jsi18n/", javascript_catalog, name="javascript_catalog"),
    path("instructor/", InstructorHomeView.as_view(), name="instructor_home"),
    path("course/<int:pk>/grades/", CourseGradebookView.as_view(), name="course_grades"),
    path("course/", include("courses.urls")),
    path("students/", include("students.urls")),
    path("certificates/", include("students.certificate_urls")),
    path("chat/", include("chat.urls")),
    path("quiz/", include("quizzes.urls")),
    path("api/", include("educa.api_urls", namespace="api")),
]

# A database outage answers 503 rather than 500 (educa/errors.py).
handler500 = "educa.errors.server_error"
handler404 = "educa.api_urls.page_not_found"
handler403 = "educa.errors.permission_denied"
