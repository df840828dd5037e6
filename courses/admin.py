from django.contrib import admin
from django.db import models
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from . import services
from .models import Content, Course, File, Image, Module, Question, Quiz, Subject, Text, Video


@admin.register(Subject)
class SubjectAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "course_count"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ("title",)}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(course_count=Count("courses"))

    @admin.display(description=_("Courses"), ordering="course_count")
    def course_count(self, subject):
        return subject.course_count


class ModuleInline(admin.StackedInline):
    model = Module
    fields = ["title", "description", "order"]
    # Positions change through the CMS (two-pass renumbering); new modules go last.
    readonly_fields = ["order"]
    extra = 0


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["title", "subject", "owner", "status", "created", "module_count"]
    list_filter = ["status", "subject", "created"]
    search_fields = ["title", "overview", "slug", "owner__username"]
    list_select_related = ["subject", "owner"]
    prepopulated_fields = {"slug": ("title",)}
    raw_id_fields = ["owner"]
    readonly_fields = ["created", "version"]
    date_hierarchy = "created"
    inlines = [ModuleInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(module_count=Count("modules"))

    @admin.display(description=_("Modules"), ordering="module_count")
    def module_count(self, course):
        return course.module_count

    def save_related(self, request, form, formsets, change):
        # The admin's change view is one transaction: lock the course like the services do,
        # so new modules get safe numbers, and bump the version the cache keys on.
        services.course_touch(course=form.instance)
        super().save_related(request, form, formsets, change)


class ContentInline(admin.TabularInline):
    model = Content
    fields = ["order", "kind", "item_link"]
    readonly_fields = ["order", "kind", "item_link"]
    extra = 0
    # Contents are made in the CMS (an item and its row together); here they can be deleted.
    can_delete = True

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("content_type").prefetch_related("item")

    @admin.display(description=_("Item"))
    def item_link(self, content):
        item = content.item
        if item is None:
            return "—"
        url = reverse(f"admin:courses_{content.kind}_change", args=[item.pk])
        return format_html('<a href="{}">{}</a>', url, item.title)


@admin.register(Module)
class ModuleAdmin(admin.ModelAdmin):
    list_display = ["title", "course", "order"]
    list_filter = ["course__subject", "course__status"]
    search_fields = ["title", "description", "course__title"]
    list_select_related = ["course"]
    raw_id_fields = ["course"]
    inlines = [ContentInline]

    def get_readonly_fields(self, request, obj=None):
        # Moving a module to another course keeps its number, which may be taken there.
        return ["course", "order"] if obj is not None else ["order"]

    def save_model(self, request, obj, form, change):
        # Locked before the save: a new module's number is computed from its course's others.
        services.course_touch(course=obj.course)
        super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        services.course_touch(course=obj.course)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for course in {module.course for module in queryset.select_related("course")}:
            services.course_touch(course=course)
        super().delete_queryset(request, queryset)


class ItemAdmin(admin.ModelAdmin):
    list_display = ["title", "owner", "created", "updated"]
    list_filter = ["created", "updated"]
    search_fields = ["title", "owner__username"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    date_hierarchy = "created"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.course_touch_for_item(item=obj)

    def delete_model(self, request, obj):
        services.course_touch_for_item(item=obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for item in queryset:
            services.course_touch_for_item(item=item)
        super().delete_queryset(request, queryset)


@admin.register(Text)
class TextAdmin(ItemAdmin):
    search_fields = [*ItemAdmin.search_fields, "content"]


@admin.register(Video)
class VideoAdmin(ItemAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = [*ItemAdmin.list_display, "url"]
    search_fields = [*ItemAdmin.search_fields, "url"]


@admin.register(Image)
class ImageAdmin(ItemAdmin):
    list_display = [*ItemAdmin.list_display, "width", "height"]


@admin.register(File)
class FileAdmin(ItemAdmin):
    pass


class QuestionInline(admin.StackedInline):
    model = Question
    fields = ["order", "kind", "text", "points", "options", "partial_credit", "correct_boolean",
              "numeric_answer", "tolerance", "accepted_answers", "feedback"]  # fmt: skip
    # Positions change through the CMS, like contents'.
    readonly_fields = ["order"]
    extra = 0


@admin.register(Quiz)
class QuizAdmin(ItemAdmin):
    list_display = [*ItemAdmin.list_display, "pass_mark", "attempts_allowed", "time_limit"]
    search_fields = [*ItemAdmin.search_fields, "instructions"]
    inlines = [QuestionInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.course_touch_for_item(item=form.instance)
