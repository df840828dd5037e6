from django.contrib import admin, messages
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import Attachment, Mention, Message, MessageEdit, Mute, ReadMarker, Room
from .services import message_tombstone


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["course", "last_seq", "last_rev"]
    search_fields = ["course__title"]
    readonly_fields = ["course", "last_seq", "last_rev"]

    def has_add_permission(self, request):
        # Rooms come with their course's first message.
        return False


class MessageEditInline(admin.TabularInline):
    """The texts a message had before its author edited it."""

    model = MessageEdit
    fields = ["replaced_at", "text"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["room", "seq", "user", "short_text", "created", "edited_at", "deleted_at"]
    list_filter = ["created", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["text", "user__username", "room__course__title"]
    list_select_related = ["room__course", "user"]
    date_hierarchy = "created"
    readonly_fields = [
        "room", "seq", "rev", "user", "text", "html", "reply_to", "created", "edited_at",
        "pinned_at", "reactions", "client_id", "deleted_at", "about", "about_title", "answer",
    ]  # fmt: skip
    inlines = [MessageEditInline]
    actions = ["tombstone"]

    @admin.display(description=_("text"))
    def short_text(self, message):
        return message.text[:80]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # A deleted row would leave a hole in the room's seq; messages become tombstones.
        return False

    @admin.action(description=_("Delete the text (keep a tombstone)"))
    def tombstone(self, request, queryset):
        with transaction.atomic():
            changed = sum(message_tombstone(message=message) for message in queryset)
        notice = ngettext("%(count)d message deleted.", "%(count)d messages deleted.", changed)
        self.message_user(request, notice % {"count": changed}, messages.SUCCESS)


@admin.register(Mute)
class MuteAdmin(admin.ModelAdmin):
    list_display = ["user", "room", "until", "created_by"]
    list_filter = ["until"]
    search_fields = ["user__username", "room__course__title"]
    list_select_related = ["user", "room__course", "created_by"]
    raw_id_fields = ["user", "room", "created_by"]


@admin.register(ReadMarker)
class ReadMarkerAdmin(admin.ModelAdmin):
    list_display = ["user", "room", "last_read_seq"]
    search_fields = ["user__username", "room__course__title"]
    list_select_related = ["user", "room__course"]
    raw_id_fields = ["user", "room"]


@admin.register(Mention)
class MentionAdmin(admin.ModelAdmin):
    list_display = ["user", "message", "read_at", "emailed_at"]
    list_filter = [
        ("read_at", admin.EmptyFieldListFilter),
        ("emailed_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["user__username", "message__room__course__title"]
    list_select_related = ["user", "message"]
    raw_id_fields = ["user", "message"]


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    """Uploads to the rooms; deleting one removes its files (staff take down what is unlawful
    without tombstoning the message)."""

    list_display = ["name", "room", "uploader", "size", "content_type", "message", "created"]
    list_filter = ["created", "content_type"]
    search_fields = ["name", "uploader__username", "room__course__title"]
    list_select_related = ["room__course", "uploader", "message"]
    date_hierarchy = "created"
    readonly_fields = [
        "room", "uploader", "message", "file", "thumbnail", "name", "size", "content_type",
        "created",
    ]  # fmt: skip

    def has_add_permission(self, request):
        return False
