from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from courses.models import Content, Course, Module


class Enrollment(models.Model):
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="enrollments", on_delete=models.CASCADE
    )
    course = models.ForeignKey(Course, related_name="enrollments", on_delete=models.CASCADE)
    created = models.DateTimeField(auto_now_add=True)
    # "Resume where you left off".
    last_module = models.ForeignKey(Module, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(fields=["student", "course"], name="enrollment_unique")
        ]

    def __str__(self):
        return f"{self.student} in {self.course}"

    def clean(self):
        if self.last_module is not None and self.last_module.course_id != self.course_id:
            raise ValidationError({"last_module": "This module belongs to another course."})


class ContentCompletion(models.Model):
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="completions", on_delete=models.CASCADE
    )
    content = models.ForeignKey(Content, related_name="completions", on_delete=models.CASCADE)
    completed = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-completed"]
        constraints = [
            models.UniqueConstraint(fields=["student", "content"], name="completion_unique")
        ]

    def __str__(self):
        return f"{self.student} completed {self.content}"


class EnrollmentReminder(models.Model):
    """Remembers that a user got the "enroll in a course" e-mail, so nobody gets it twice."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, related_name="enrollment_reminder", on_delete=models.CASCADE
    )
    sent = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sent"]

    def __str__(self):
        return f"enrollment reminder to {self.user} on {self.sent:%Y-%m-%d}"
