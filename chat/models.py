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
    # The rev of the newest change to any of its messages (a creation included); only ever
    # changed while this row is locked, so changes are numbered in commit order.
    last_rev = models.PositiveBigIntegerField(default=0)

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
    # `text` rendered to sanitised HTML when stored (chat/rendering.py); NULL for messages
    # stored before rendering existed, which are rendered when read.
    html = models.TextField(null=True, blank=True)  # noqa: DJ001
    # The message this one answers, in the same room. A deleted original stays a tombstone row,
    # so the reply still points at it.
    reply_to = models.ForeignKey(
        "self", null=True, blank=True, related_name="replies", on_delete=models.SET_NULL
    )
    created = models.DateTimeField(auto_now_add=True)
    # NULL, not "", when absent: the uniqueness of (room, user, client_id) only binds real ids.
    client_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    # A deleted message stays as a tombstone without text, so that seq stays gapless.
    deleted_at = models.DateTimeField(null=True, blank=True)
    # The room's rev of this message's latest change (its creation, an edit, a reaction, a pin
    # or its deletion): a client that has seen a rev knows every change up to it.
    rev = models.PositiveBigIntegerField(default=0)
    edited_at = models.DateTimeField(null=True, blank=True)
    pinned_at = models.DateTimeField(null=True, blank=True)
    # Who reacted with what, as frames show it: [[emoji, [username, ...]], ...] in the order of
    # first reaction (a list: jsonb does not keep key order). Rebuilt from Reaction rows at each
    # change, so a frame costs no query.
    reactions = models.JSONField(default=list, blank=True)
    # Lists look up attachments only for the messages that have some.
    has_attachments = models.BooleanField(default=False)
    # A question about a content item of the room's course; NULL for other messages (and for
    # questions whose content was deleted: they become plain messages).
    about = models.ForeignKey(
        "courses.Content",
        null=True,
        blank=True,
        related_name="questions",
        on_delete=models.SET_NULL,
    )
    # The content's title when the question was asked, so that a frame costs no query (a
    # content's title lives on its item, behind a generic relation).
    about_title = models.CharField(max_length=250, blank=True)
    # The message of the same room marked as the question's answer.
    answer = models.ForeignKey(
        "self", null=True, blank=True, related_name="answered", on_delete=models.SET_NULL
    )

    # Full-text search (chat.selectors.message_search) has a GIN index on PostgreSQL, made by
    # its migration outside the model's state.
    class Meta:
        ordering = ["room", "seq"]
        indexes = [models.Index(fields=["room", "rev"], name="chat_message_room_rev")]
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


class MessageEdit(models.Model):
    """A text a message had before an edit replaced it (for the course owner and staff)."""

    message = models.ForeignKey(Message, related_name="edits", on_delete=models.CASCADE)
    text = models.TextField()
    # When this text was replaced.
    replaced_at = models.DateTimeField()

    class Meta:
        ordering = ["message", "replaced_at", "id"]

    def __str__(self):
        return f"Earlier text of message {self.message_id}"


class Reaction(models.Model):
    """One member's emoji on one message."""

    message = models.ForeignKey(Message, related_name="reaction_rows", on_delete=models.CASCADE)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="chat_reactions", on_delete=models.CASCADE
    )
    emoji = models.CharField(max_length=16)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["message", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "user", "emoji"], name="chat_reaction_unique"
            ),
        ]

    def __str__(self):
        return f"{self.emoji} by {self.user_id} on message {self.message_id}"


class Mention(models.Model):
    """A member named in a message (`@alice`, or `@instructor` for the course's owner).

    Unread while `read_at` is NULL: the member's read marker passing the message, or clearing
    their notifications, sets it. `emailed_at` records the mention e-mail that announced it.
    """

    message = models.ForeignKey(Message, related_name="mentions", on_delete=models.CASCADE)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="chat_mentions", on_delete=models.CASCADE
    )
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["message", "user"]
        constraints = [
            models.UniqueConstraint(fields=["message", "user"], name="chat_mention_unique"),
        ]
        indexes = [
            # The unread mentions of a user (the navigation on every page, the notifications).
            models.Index(
                fields=["user", "message"],
                condition=models.Q(read_at__isnull=True),
                name="chat_mention_unread",
            ),
        ]

    def __str__(self):
        return f"{self.user} mentioned in message {self.message_id}"


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
