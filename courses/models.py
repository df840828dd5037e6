import re
import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .fields import OrderField
from .rendering import markdown_to_html, video_embed_url
from .validators import (
    raster_suffix,
    validate_raster_image,
    validate_slug_not_reserved,
    validate_upload_size,
    validate_video_url,
)

CONTENT_MODELS = ("text", "video", "image", "file", "quiz")
# What people call each kind of content (CONTENT_MODELS are machine names).
CONTENT_KIND_NAMES = {
    "text": _("text"),
    "video": _("video"),
    "image": _("image"),
    "file": _("file"),
    "quiz": _("quiz"),
}


class Subject(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)

    class Meta:
        ordering = ["title"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("course_list_subject", args=[self.slug])


class Catalogue(models.Model):
    """One row (pk 1): the version of the public lists, bumped with any change they show.

    Subject and course lists are cached under it (courses/cache.py); Course.version does the
    same for one course.
    """

    version = models.PositiveBigIntegerField(default=1)

    def __str__(self):
        return f"catalogue version {self.version}"


class Course(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="courses_created", on_delete=models.CASCADE
    )
    subject = models.ForeignKey(Subject, related_name="courses", on_delete=models.PROTECT)
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True, validators=[validate_slug_not_reserved])
    overview = models.TextField()
    created = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # Bumped in the same transaction as any change to the course or its content; cache keys use it.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["status", "-created"])]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("course_detail", args=[self.slug])

    @property
    def is_published(self):
        return self.status == self.Status.PUBLISHED


class Module(models.Model):
    course = models.ForeignKey(Course, related_name="modules", on_delete=models.CASCADE)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    order = OrderField(blank=True, for_fields=["course"])

    class Meta:
        ordering = ["order"]
        constraints = [
            models.UniqueConstraint(fields=["course", "order"], name="module_order_unique")
        ]

    def __str__(self):
        return f"{self.order + 1}. {self.title}"


class Content(models.Model):
    module = models.ForeignKey(Module, related_name="contents", on_delete=models.CASCADE)
    content_type = models.ForeignKey(
        ContentType,
        on_delete=models.CASCADE,
        limit_choices_to={"app_label": "courses", "model__in": CONTENT_MODELS},
    )
    object_id = models.PositiveIntegerField()
    item = GenericForeignKey("content_type", "object_id")
    order = OrderField(blank=True, for_fields=["module"])

    class Meta:
        ordering = ["order"]
        constraints = [
            models.UniqueConstraint(fields=["module", "order"], name="content_order_unique")
        ]

    def __str__(self):
        return f"{self.kind} #{self.object_id}"

    @property
    def kind(self) -> str:
        """ "text", "video", "image", "file" or "quiz" (content types are cached: no query)."""
        return ContentType.objects.get_for_id(self.content_type_id).model

    def render(self) -> str:
        """The item's HTML; prefer it to item.render(), which has to look this row up."""
        item = self.item
        return item.render(content=self) if item is not None else ""


_UNSAFE_SUFFIX_CHARACTERS = re.compile(r"[^a-z0-9]")


def owner_upload_path(instance, filename):
    """Uploads land under a per-owner folder with a generated name; only the extension is kept."""
    return f"courses/{instance.owner_id}/{uuid.uuid4().hex}{instance.stored_suffix(filename)}"


class ItemBase(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="%(class)s_related", on_delete=models.CASCADE
    )
    title = models.CharField(max_length=250)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def __str__(self):
        return self.title

    @property
    def kind(self):
        return self._meta.model_name

    def render(self, content: Content | None = None) -> str:
        """This item's HTML from courses/content/<kind>.html.

        `content` is the Content row showing the item; file and image links need its id, so it
        is looked up (one query) when not given.
        """
        if content is None and self.kind in ("file", "image"):
            content = Content.objects.filter(
                content_type=ContentType.objects.get_for_model(self), object_id=self.pk
            ).first()
        return render_to_string(
            f"courses/content/{self.kind}.html", {"item": self, "content": content}
        )


class Text(ItemBase):
    content = models.TextField(help_text="Markdown")

    @property
    def html(self):
        return markdown_to_html(self.content)


class File(ItemBase):
    file = models.FileField(upload_to=owner_upload_path, validators=[validate_upload_size])

    def stored_suffix(self, filename: str) -> str:
        """The uploaded name's extension, lower-case letters and digits only."""
        suffix = _UNSAFE_SUFFIX_CHARACTERS.sub("", PurePosixPath(filename).suffix.lower())[:10]
        return f".{suffix}" if suffix else ""


class Image(ItemBase):
    file = models.ImageField(
        upload_to=owner_upload_path,
        width_field="width",
        height_field="height",
        validators=[validate_upload_size, validate_raster_image],
    )
    width = models.PositiveIntegerField(null=True, editable=False)
    height = models.PositiveIntegerField(null=True, editable=False)

    def stored_suffix(self, filename: str) -> str:
        # From the decoded format, not the name: a PNG called page.html must never be served
        # as HTML.
        return raster_suffix(self.file) or ".bin"


class Video(ItemBase):
    url = models.URLField(validators=[validate_video_url])

    @property
    def embed_url(self):
        return video_embed_url(self.url)


# --- quizzes ----------------------------------------------------------------------------------
# A quiz is authored content like the other kinds, so it and its questions live here; what
# students do with it (attempts, grading, progress) is the quizzes app's.

QUIZ_MAX_ATTEMPTS = 10
QUESTION_MIN_OPTIONS = 2
QUESTION_MAX_OPTIONS = 10
QUESTION_ANSWER_MAX_LENGTH = 200


class Quiz(ItemBase):
    class AnswersShown(models.TextChoices):
        NEVER = "never", _("Never")
        AFTER_EACH = "after_each", _("After each attempt")
        AFTER_LAST = "after_last", _("After the last attempt or a pass")

    instructions = models.TextField(_("instructions"), blank=True, help_text=_("Markdown"))
    pass_mark = models.PositiveSmallIntegerField(
        _("pass mark"),
        default=50,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("The percentage of the points needed to pass."),
    )
    attempts_allowed = models.PositiveSmallIntegerField(
        _("attempts allowed"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(QUIZ_MAX_ATTEMPTS)],
        help_text=_("From 1 to 10; leave blank for unlimited attempts."),
    )
    time_limit = models.PositiveSmallIntegerField(
        _("time limit"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(600)],
        help_text=_("Minutes per attempt; leave blank for no limit."),
    )
    answers_shown = models.CharField(
        _("answers shown"),
        max_length=12,
        choices=AnswersShown.choices,
        default=AnswersShown.AFTER_LAST,
    )
    shuffle_options = models.BooleanField(
        _("shuffle options"), default=False, help_text=_("A new order for every attempt.")
    )

    class Meta:
        verbose_name_plural = "quizzes"

    @property
    def html(self):
        return markdown_to_html(self.instructions)


class Question(models.Model):
    """One question of a quiz. Which answer fields apply depends on `kind` (see clean())."""

    class Kind(models.TextChoices):
        SINGLE = "single", _("Single choice")
        MULTIPLE = "multiple", _("Multiple choice")
        TRUE_FALSE = "true_false", _("True or false")
        NUMERIC = "numeric", _("Number")
        TEXT = "text", _("Short text")

    quiz = models.ForeignKey(Quiz, related_name="questions", on_delete=models.CASCADE)
    order = OrderField(blank=True, for_fields=["quiz"])
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.SINGLE)
    text = models.TextField(_("question"))
    points = models.PositiveSmallIntegerField(
        _("points"), default=1, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    feedback = models.TextField(_("feedback"), blank=True)
    # Choice questions: [{"id": 1, "text": "...", "correct": true}, ...]; ids are unique
    # within the question and kept when options are edited (attempts keep their own copy).
    options = models.JSONField(default=list, blank=True)
    partial_credit = models.BooleanField(
        _("partial credit"),
        default=False,
        help_text=_("Multiple choice: points for each right option, less for each wrong one."),
    )
    correct_boolean = models.BooleanField(_("the statement is true"), null=True, blank=True)
    numeric_answer = models.FloatField(_("answer"), null=True, blank=True)
    tolerance = models.FloatField(
        _("tolerance"), default=0, validators=[MinValueValidator(0)], blank=True
    )
    # Short text: every accepted answer; case and surrounding space are ignored.
    accepted_answers = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["order"]
        constraints = [
            models.UniqueConstraint(fields=["quiz", "order"], name="question_order_unique")
        ]

    def __str__(self):
        return self.text[:80]

    def clean(self):
        kind, errors = self.Kind, {}
        if self.kind in (kind.SINGLE, kind.MULTIPLE):
            correct = sum(1 for option in self.options if option.get("correct"))
            if not QUESTION_MIN_OPTIONS <= len(self.options) <= QUESTION_MAX_OPTIONS:
                errors["options"] = _("Give from 2 to 10 options.")
            elif self.kind == kind.SINGLE and correct != 1:
                errors["options"] = _("Mark exactly one option correct.")
            elif correct < 1:
                errors["options"] = _("Mark at least one option correct.")
        elif self.kind == kind.TRUE_FALSE and self.correct_boolean is None:
            errors["correct_boolean"] = _("Say whether the statement is true or false.")
        elif self.kind == kind.NUMERIC and self.numeric_answer is None:
            errors["numeric_answer"] = _("Give the expected number.")
        elif self.kind == kind.TEXT and not [a for a in self.accepted_answers if a.strip()]:
            errors["accepted_answers"] = _("Give at least one accepted answer.")
        if errors:
            raise ValidationError(errors)
