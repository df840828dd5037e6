from django.urls import path

from . import views

urlpatterns = [
    path(
        "content/<int:content_id>/start/",
        views.AttemptStartView.as_view(),
        name="quiz_attempt_start",
    ),
    path(
        "attempt/<int:attempt_id>/submit/",
        views.AttemptSubmitView.as_view(),
        name="quiz_attempt_submit",
    ),
]
