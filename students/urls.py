from django.urls import path

from . import views

urlpatterns = [
    path("register/", views.StudentRegistrationView.as_view(), name="student_registration"),
    path(
        "register/done/",
        views.StudentRegistrationDoneView.as_view(),
        name="student_registration_done",
    ),
    path("enroll-course/", views.EnrollmentCreateView.as_view(), name="student_enroll_course"),
    path("unenroll-course/", views.EnrollmentDeleteView.as_view(), name="student_unenroll_course"),
    path("courses/", views.StudentCourseListView.as_view(), name="student_course_list"),
    path("course/<int:pk>/", views.StudentCourseDetailView.as_view(), name="student_course_detail"),
    path(
        "course/<int:pk>/<int:module_id>/",
        views.StudentCourseDetailView.as_view(),
        name="student_course_detail_module",
    ),
    path(
        "content/<int:content_id>/done/",
        views.ContentCompletionCreateView.as_view(),
        name="content_mark_done",
    ),
    path(
        "content/<int:content_id>/undone/",
        views.ContentCompletionDeleteView.as_view(),
        name="content_mark_undone",
    ),
    path("certificate-name/", views.CertificateNameView.as_view(), name="certificate_name"),
]
