import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

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
            raise ValidationError({"last_module": _("This module belongs to another course.")})


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


class CourseCompletion(models.Model):
    """The moment a student had done every content of a course.

    Stored once, when the last content is marked done, and never recomputed: contents added
    later do not take it back, nor does marking one not done.
    """

    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="course_completions", on_delete=models.CASCADE
    )
    course = models.ForeignKey(Course, related_name="completions", on_delete=models.CASCADE)
    completed = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-completed"]
        constraints = [
            models.UniqueConstraint(fields=["student", "course"], name="course_completion_unique")
        ]

    def __str__(self):
        return f"{self.student} completed {self.course}"


class Certificate(models.Model):
    """A course's certificate, as printed: anyone with its id can verify it.

    The names are copied when it is issued, so that a certificate reads later as it did then.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="certificates", on_delete=models.CASCADE
    )
    course = models.ForeignKey(Course, related_name="certificates", on_delete=models.CASCADE)
    issued_at = models.DateTimeField()
    student_name = models.CharField(max_length=301)
    course_title = models.CharField(max_length=200)
    instructor_name = models.CharField(max_length=301)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at"]
        constraints = [
            models.UniqueConstraint(fields=["student", "course"], name="certificate_unique")
        ]

    def __str__(self):
        return f"certificate {self.pk} of {self.student_name} for {self.course_title}"

    def get_absolute_url(self):
        return reverse("certificate_detail", args=[self.pk])

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class Profile(models.Model):
    """A user's preferences: the language the site speaks to them ("" = the browser's), and the
    optional e-mails they want."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        related_name="profile",
        on_delete=models.CASCADE,
    )
    language = models.CharField(_("language"), max_length=8, blank=True, choices=settings.LANGUAGES)
    # E-mails about chat mentions left unread (chat.mention_emails).
    mention_emails = models.BooleanField(_("e-mail me about unread mentions"), default=True)

    def __str__(self):
        return f"profile of {self.user}"
