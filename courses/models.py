import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.template.loader import render_to_string
from django.urls import reverse

from .fields import OrderField
from .rendering import markdown_to_html, video_embed_url

CONTENT_MODELS = ("text", "video", "image", "file")


class Subject(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)

    class Meta:
        ordering = ["title"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("course_list_subject", args=[self.slug])


class Course(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="courses_created", on_delete=models.CASCADE
    )
    subject = models.ForeignKey(Subject, related_name="courses", on_delete=models.PROTECT)
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
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
        return f"{self.content_type.model} #{self.object_id}"


def owner_upload_path(instance, filename):
    """Uploads land under a per-owner folder with a generated name; only the extension is kept."""
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"courses/{instance.owner_id}/{uuid.uuid4().hex}{suffix}"


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

    def render(self):
        return render_to_string(f"courses/content/{self.kind}.html", {"item": self})


class Text(ItemBase):
    content = models.TextField(help_text="Markdown")

    @property
    def html(self):
        return markdown_to_html(self.content)


class File(ItemBase):
    file = models.FileField(upload_to=owner_upload_path)


class Image(ItemBase):
    file = models.ImageField(
        upload_to=owner_upload_path, width_field="width", height_field="height"
    )
    width = models.PositiveIntegerField(null=True, editable=False)
    height = models.PositiveIntegerField(null=True, editable=False)


class Video(ItemBase):
    url = models.URLField()

    @property
    def embed_url(self):
        return video_embed_url(self.url)
