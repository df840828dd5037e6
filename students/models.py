from django.conf import settings
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
