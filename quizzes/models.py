"""Students' attempts at quizzes.

The quiz and its questions are course content (courses.models.Quiz, Question) and belong to the
instructor; attempts, grading and the progress a pass earns belong to the student, and need both
courses and students: they live in this app so that courses never depends on students' progress.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from courses.models import Content


class Attempt(models.Model):
    """One try at a quiz. `questions` is a copy of what was asked, in this attempt's order and
    with the answers, so grading and old scores never depend on later edits of the quiz."""

    class Status(models.TextChoices):
        OPEN = "open", _("In progress")
        GRADED = "graded", _("Graded")
        EXPIRED = "expired", _("Expired")

    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="quiz_attempts", on_delete=models.CASCADE
    )
    content = models.ForeignKey(Content, related_name="quiz_attempts", on_delete=models.CASCADE)
    number = models.PositiveSmallIntegerField(help_text="1 for the student's first attempt.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    started = models.DateTimeField(default=timezone.now)
    deadline = models.DateTimeField(null=True, blank=True)
    submitted = models.DateTimeField(null=True, blank=True)
    pass_mark = models.PositiveSmallIntegerField()
    questions = models.JSONField(default=list)
    answers = models.JSONField(null=True, blank=True)
    # Per question, in the order of `questions`: {"id", "earned", "correct"}.
    results = models.JSONField(default=list, blank=True)
    score = models.FloatField(null=True, blank=True)
    max_score = models.FloatField(default=0)
    percent = models.FloatField(null=True, blank=True)
    passed = models.BooleanField(default=False)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "content", "number"], name="attempt_number_unique"
            ),
            # A double click on "Start" cannot open two attempts.
            models.UniqueConstraint(
                fields=["student", "content"],
                condition=models.Q(status="open"),
                name="attempt_one_open",
            ),
        ]

    def __str__(self):
        return f"attempt {self.number} of {self.student} at {self.content}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN
