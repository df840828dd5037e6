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


class UsernameSkeleton(models.Model):
    """The look-alike form of a user's name (students.usernames), unique so that no two users'
    names can be told apart only by accents, case or confusable letters."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        related_name="username_skeleton",
        on_delete=models.CASCADE,
    )
    # A digest of the skeleton (students.usernames.username_skeleton_digest).
    digest = models.CharField(max_length=64, db_index=True)
    # Names that already looked alike when clashes began to be refused are kept; a later rename
    # makes the name checked like any other.
    predates_check = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["digest"],
                condition=models.Q(predates_check=False),
                name="username_skeleton_unique",
            )
        ]

    def __str__(self):
        return f"skeleton of {self.user}"


class EmailPreference(models.Model):
    """Which optional e-mails a user wants; a user without a row gets them all."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        related_name="email_preference",
        on_delete=models.CASCADE,
    )
    # E-mails about chat mentions left unread (chat.mention_emails).
    mention_emails = models.BooleanField(default=True)

    def __str__(self):
        return f"e-mail preferences of {self.user}"
