from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from courses.models import Course


class Room(models.Model):
    """A course's chat room; its row is the lock that numbers messages in commit order."""

    course = models.OneToOneField(
        Course, primary_key=True, related_name="chat_room", on_delete=models.CASCADE
    )
    # The seq of the newest message; only ever changed while this row is locked.
    last_seq = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"Chat room of {self.course}"

    def get_absolute_url(self):
        return reverse("chat_room", args=[self.pk])


class Message(models.Model):
    room = models.ForeignKey(Room, related_name="messages", on_delete=models.CASCADE)
    seq = models.PositiveBigIntegerField()
    # Deleting an account keeps what its owner said in the rooms, attributed to a deleted user.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        related_name="chat_messages",
        on_delete=models.SET_NULL,
    )
    text = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    # NULL, not "", when absent: the uniqueness of (room, user, client_id) only binds real ids.
    client_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    # A deleted message stays as a tombstone without text, so that seq stays gapless.
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Lists look up attachments only for the messages that have some.
    has_attachments = models.BooleanField(default=False)

    class Meta:
        ordering = ["room", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["room", "seq"], name="chat_message_seq_unique"),
            models.UniqueConstraint(
                fields=["room", "user", "client_id"],
                condition=Q(client_id__isnull=False),
                name="chat_message_client_id_unique",
            ),
        ]

    def __str__(self):
        return f"#{self.seq} in room {self.room_id}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Mute(models.Model):
    """A member the course owner silenced in the room until a given time."""

    room = models.ForeignKey(Room, related_name="mutes", on_delete=models.CASCADE)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="chat_mutes", on_delete=models.CASCADE
    )
    until = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )
    created = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-until"]
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="chat_mute_unique"),
        ]

    def __str__(self):
        return f"{self.user} muted in room {self.room_id} until {self.until:%Y-%m-%d %H:%M}"


class ReadMarker(models.Model):
    """The highest seq a member has read in a room (for unread counts)."""

    room = models.ForeignKey(Room, related_name="read_markers", on_delete=models.CASCADE)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="chat_read_markers", on_delete=models.CASCADE
    )
    last_read_seq = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["room", "user"]
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="chat_read_marker_unique"),
        ]

    def __str__(self):
        return f"{self.user} read room {self.room_id} up to #{self.last_read_seq}"


class Attachment(models.Model):
    """A file a member uploaded to a room, shown with the one message that uses it."""

    room = models.ForeignKey(Room, related_name="attachments", on_delete=models.CASCADE)
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        related_name="chat_attachments",
        on_delete=models.SET_NULL,
    )
    # NULL until a message frame names it; an upload no message uses is pruned after a day.
    message = models.ForeignKey(
        Message, null=True, blank=True, related_name="attachments", on_delete=models.CASCADE
    )
    # Stored under a random name: the uploader's name is only ever shown, never a path.
    file = models.FileField(upload_to="chat/%Y/%m/", max_length=200)
    thumbnail = models.FileField(upload_to="chat/%Y/%m/", max_length=200, blank=True)
    name = models.CharField(max_length=150)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(
                fields=["created"],
                condition=Q(message__isnull=True),
                name="chat_attachment_unused",
            ),
        ]

    def __str__(self):
        return f"{self.name} in room {self.room_id}"

    def get_absolute_url(self):
        return reverse("chat_attachment", args=[self.pk])
