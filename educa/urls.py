from django.contrib import admin
from django.urls import include, path

from courses.views import CourseListView

urlpatterns = [
    path("", CourseListView.as_view(), name="course_list"),
    path("admin/", admin.site.urls),
    path("accounts/", include("students.account_urls")),
    path("course/", include("courses.urls")),
    path("students/", include("students.urls")),
    path("chat/", include("chat.urls")),
]
