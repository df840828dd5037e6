"""The chat API: a course room's history, in the same message shape as the WebSocket frames."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from educa.api import QuerySerializer, StrictIntegerField
from educa.api_viewsets import ViewSet
from educa.db import BIGINT_MAX
from students.selectors import course_get_for_member

from .selectors import (
    HISTORY_LIMIT_DEFAULT,
    HISTORY_LIMIT_MAX,
    REPLAY_BATCH,
    SEARCH_MAX_LENGTH,
    attachment_frame,
    mentions_unread,
    message_edit_list,
    message_frame,
    message_get_for_moderator,
    message_list_changed,
    message_list_for_room,
    message_list_pinned,
    message_search,
    message_updated_frame,
    question_list_for_course,
    question_with_answer_frame,
)
from .services import attachment_create, attachment_size_check, mentions_read

# The most notifications one clearing request names.
NOTIFICATION_IDS_MAX = 1000

SEARCH_BLANK = _("Enter the words to search for.")
SEARCH_WITH_PAGING = _("search returns the best matches: it takes no before or after.")

SINCE_REV_NEEDS_AFTER = _("since_rev needs after: the seq the client has messages up to.")


class HistoryQuerySerializer(QuerySerializer):
    before = StrictIntegerField(
        required=False, min_value=0, max_value=BIGINT_MAX, help_text="Only messages below this seq."
    )
    after = StrictIntegerField(
        required=False,
        min_value=0,
        max_value=BIGINT_MAX,
        help_text="Only messages above this seq, oldest first (to catch up).",
    )
    limit = StrictIntegerField(
        required=False, min_value=1, max_value=HISTORY_LIMIT_MAX, default=HISTORY_LIMIT_DEFAULT
    )
    since_rev = StrictIntegerField(
        required=False,
        min_value=0,
        max_value=BIGINT_MAX,
        help_text=(
            "With `after`: also the current state of each message up to `after` changed after "
            "this rev (`updates`, in rev order)."
        ),
    )

    search = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=SEARCH_MAX_LENGTH,
        help_text=(
            "Words to find: the live messages that contain them, best match first, each with "
            'an `excerpt`. Words, "quoted phrases" and -excluded words (PostgreSQL).'
        ),
    )

    def validate_search(self, value):
        if not value.strip():
            raise serializers.ValidationError(SEARCH_BLANK)
        return value.strip()

    def validate(self, attrs):
        if "since_rev" in attrs and "after" not in attrs:
            raise serializers.ValidationError({"since_rev": [SINCE_REV_NEEDS_AFTER]})
        if "search" in attrs and ("before" in attrs or "after" in attrs):
            raise serializers.ValidationError({"search": [SEARCH_WITH_PAGING]})
        return attrs


class AttachmentSerializer(serializers.Serializer):
    """A file in the room: what the upload returns and what messages carry."""

    id = serializers.IntegerField()
    name = serializers.CharField(help_text="The uploaded file's name, cleaned: show it as text.")
    size = serializers.IntegerField(help_text="Bytes.")
    content_type = serializers.CharField(
        help_text="image/png, image/jpeg, image/gif or image/webp; else application/octet-stream."
    )
    url = serializers.CharField(help_text="The file, for the room's members, as a download.")
    thumbnail_url = serializers.CharField(
        allow_null=True, help_text="An image's thumbnail (at most 320 px); null for other files."
    )


class AttachmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="At most CHAT_ATTACHMENT_MAX_BYTES. Images are checked, re-encoded without "
        "their metadata and get a thumbnail; other files are only ever served as downloads."
    )

    def validate_file(self, value):
        try:
            attachment_size_check(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages, code=error.code) from None
        return value


class QuestionQuerySerializer(QuerySerializer):
    state = serializers.ChoiceField(
        choices=["open", "answered"],
        required=False,
        help_text="open: without an answer yet; answered: with one. Both when absent.",
    )
    content = StrictIntegerField(
        required=False,
        min_value=1,
        max_value=BIGINT_MAX,
        help_text="Only the questions about this content item.",
    )


class ReplyToSerializer(serializers.Serializer):
    """What a reply shows of the message it answers (a tombstone once that is deleted)."""

    id = serializers.IntegerField()
    seq = serializers.IntegerField()
    user = serializers.CharField(allow_null=True, help_text="null when deleted.")
    excerpt = serializers.CharField(
        allow_null=True, help_text="At most 120 characters of its plain text; null when deleted."
    )
    deleted = serializers.BooleanField()


class MessageStateSerializer(serializers.Serializer):
    """What every frame about a message carries besides its text."""

    id = serializers.IntegerField()
    seq = serializers.IntegerField(help_text="The message's number in its room, from 1.")
    rev = serializers.IntegerField(help_text="The room's rev of the message's latest change.")
    message = serializers.CharField(allow_null=True, help_text="null once deleted.")
    html = serializers.CharField(
        allow_null=True,
        help_text="The Markdown text rendered to sanitised HTML (links open in a new tab); "
        "null once deleted.",
    )
    deleted = serializers.BooleanField()
    edited_at = serializers.DateTimeField(allow_null=True)
    reply_to = ReplyToSerializer(allow_null=True, help_text="The message this one answers.")
    mentions = serializers.ListField(child=serializers.CharField())
    reactions = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Emoji -> names of who reacted, in order.",
    )
    attachments = AttachmentSerializer(many=True, help_text="Empty once deleted.")
    pinned = serializers.BooleanField()
    question = serializers.DictField(
        allow_null=True,
        help_text="For a question about course content: content_id, content_title and "
        "answer_id (null until an answer is marked).",
    )
    user = serializers.CharField(allow_null=True, help_text="null for a deleted account.")
    datetime = serializers.DateTimeField()


class MessageSerializer(MessageStateSerializer):
    """A `message` frame of the WebSocket protocol (a tombstone when deleted)."""

    type = serializers.ChoiceField(choices=["message"])
    client_id = serializers.CharField(allow_null=True)
    excerpt = serializers.CharField(
        required=False,
        help_text=(
            "With `search` only: HTML of the matching passage, its text escaped, each match in "
            "<mark>."
        ),
    )


class MessageUpdatedSerializer(MessageStateSerializer):
    """A `message.updated` frame of the WebSocket protocol: a message's current state."""

    type = serializers.ChoiceField(choices=["message.updated"])


class MessagePageSerializer(serializers.Serializer):
    messages = MessageSerializer(many=True, help_text="Oldest first.")
    has_more = serializers.BooleanField(
        help_text="More messages exist beyond these: older ones, or newer ones with `after`."
    )
    updates = MessageUpdatedSerializer(
        many=True, required=False, help_text="With `since_rev` only: in rev order."
    )
    updates_more = serializers.BooleanField(
        required=False,
        help_text=f"More than {REPLAY_BATCH} updates: ask again from the last one's rev.",
    )


class AnswerSerializer(serializers.Serializer):
    """The message marked as a question's answer."""

    id = serializers.IntegerField()
    seq = serializers.IntegerField()
    user = serializers.CharField(allow_null=True, help_text="null for a deleted account.")
    html = serializers.CharField(allow_null=True, help_text="null once deleted.")
    deleted = serializers.BooleanField()
    datetime = serializers.DateTimeField()


class QuestionSerializer(MessageStateSerializer):
    """A question's `message` frame, with the message marked as its answer."""

    # A string, not a one-choice enum: the schema has one enum named for `type` already.
    type = serializers.CharField(help_text='Always "message".')
    client_id = serializers.CharField(allow_null=True)
    answer = AnswerSerializer(allow_null=True)


class PinsSerializer(serializers.Serializer):
    messages = MessageSerializer(many=True, help_text="Most recently pinned first.")


class MessageEditSerializer(serializers.Serializer):
    message = serializers.CharField(help_text="The text the message had.")
    replaced_at = serializers.DateTimeField(help_text="When an edit replaced it.")


class MessageEditsSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    edits = MessageEditSerializer(many=True, help_text="Oldest first.")


class CourseMessageViewSet(ViewSet):
    """Chat history of a course room, for the course's students and instructor."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        parameters=[HistoryQuerySerializer],
        responses=MessagePageSerializer,
        description=(
            "Without `after`: the newest `limit` messages below `before` (or of all). With "
            "`after`: the first `limit` messages above it. With `after` and `since_rev` (a "
            "resume): also `updates`, the current state of the earlier messages changed since. "
            "With `search`: the best `limit` matches among live messages, best first, each "
            "with an `excerpt`."
        ),
    )
    @action(detail=True, methods=["get"])
    def messages(self, request, pk):
        course = course_get_for_member(user=request.user, course_id=pk)
        query = HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        if "search" in params:
            page = message_search(
                course_id=course.pk, words=params["search"], limit=params["limit"]
            )
            frames = [
                {**message_frame(message), "excerpt": message.excerpt} for message in page.messages
            ]
            return Response({"messages": frames, "has_more": page.has_more})
        since_rev = query.validated_data.pop("since_rev", None)
        page = message_list_for_room(course_id=course.pk, **query.validated_data)
        body = {
            "messages": [message_frame(message) for message in page.messages],
            "has_more": page.has_more,
        }
        if since_rev is not None:
            updated = message_list_changed(
                course_id=course.pk, upto_seq=query.validated_data["after"], after_rev=since_rev
            )
            body["updates"] = [message_updated_frame(message) for message in updated]
            body["updates_more"] = len(updated) == REPLAY_BATCH
        return Response(body)

    @extend_schema(responses=PinsSerializer)
    @action(detail=True, methods=["get"])
    def pins(self, request, pk):
        """The room's pinned messages, for the course's members."""
        course = course_get_for_member(user=request.user, course_id=pk)
        pinned = message_list_pinned(course_id=course.pk)
        return Response({"messages": [message_frame(message) for message in pinned]})

    @extend_schema(
        request={"multipart/form-data": AttachmentUploadSerializer},
        responses={201: AttachmentSerializer},
        description=(
            "Upload a file to the course's room, for one of your messages to carry (its "
            "`attachments` list of ids). Uploads no message carries within a day are removed."
        ),
    )
    @action(detail=True, methods=["post"])
    def attachments(self, request, pk):
        course = course_get_for_member(user=request.user, course_id=pk)
        upload = AttachmentUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        try:
            attachment = attachment_create(
                uploader=request.user, course=course, upload=upload.validated_data["file"]
            )
        except DjangoValidationError as error:
            # About the file, with the service's code (not an image, too many pixels...).
            raise serializers.ValidationError({"file": error.messages}, code=error.code) from None
        return Response(attachment_frame(attachment), status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[QuestionQuerySerializer],
        responses=QuestionSerializer(many=True),
        description="The room's questions about course content, newest first, with answers.",
    )
    @action(detail=True, methods=["get"])
    def questions(self, request, pk):
        course = course_get_for_member(user=request.user, course_id=pk)
        query = QuestionQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        questions = question_list_for_course(
            course_id=course.pk,
            state=query.validated_data.get("state"),
            content_id=query.validated_data.get("content"),
        )
        page = self.paginate_queryset(questions)
        return self.get_paginated_response([question_with_answer_frame(q) for q in page])


class MessageEditViewSet(ViewSet):
    """A chat message's earlier texts, for its course's instructor and staff."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=MessageEditsSerializer)
    @action(detail=True, methods=["get"])
    def edits(self, request, pk):
        message = message_get_for_moderator(user=request.user, message_id=pk)
        edits = [
            {"message": edit.text, "replaced_at": edit.replaced_at}
            for edit in message_edit_list(message=message)
        ]
        return Response(MessageEditsSerializer({"id": message.pk, "edits": edits}).data)


class NotificationSerializer(serializers.Serializer):
    """An unread mention of the user."""

    id = serializers.IntegerField(source="pk", help_text="Give it to `read/` to clear it.")
    course = serializers.IntegerField(source="message.room_id")
    course_title = serializers.CharField(source="message.room.course.title")
    message = serializers.IntegerField(source="message_id", help_text="The message's id.")
    seq = serializers.IntegerField(source="message.seq")
    user = serializers.SerializerMethodField(help_text="Who wrote it; null for a deleted account.")
    text = serializers.CharField(source="message.text")
    datetime = serializers.DateTimeField(source="message.created")
    url = serializers.SerializerMethodField(help_text="The room's page, at the message.")

    def get_user(self, mention) -> str | None:
        author = mention.message.user
        return author.get_username() if author is not None else None

    def get_url(self, mention) -> str:
        return f"{mention.message.room.get_absolute_url()}#seq-{mention.message.seq}"


class NotificationReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=StrictIntegerField(min_value=1, max_value=BIGINT_MAX),
        required=False,
        max_length=NOTIFICATION_IDS_MAX,
        help_text="The notifications to clear; without it, all of them.",
    )


class NotificationReadResultSerializer(serializers.Serializer):
    read = serializers.IntegerField(help_text="How many notifications were cleared.")


class NotificationViewSet(ViewSet):
    """The user's notifications: mentions in chat rooms they have not read yet.

    A mention is unread until the member's read marker in the room passes it (they read the
    room) or they clear it here; deleted messages and rooms the user left are not listed.
    """

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=NotificationSerializer(many=True))
    def list(self, request):
        page = self.paginate_queryset(mentions_unread(user=request.user))
        return self.get_paginated_response(NotificationSerializer(page, many=True).data)

    @extend_schema(request=NotificationReadSerializer, responses=NotificationReadResultSerializer)
    @action(detail=False, methods=["post"])
    def read(self, request):
        body = NotificationReadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(
            {"read": mentions_read(user=request.user, ids=body.validated_data.get("ids"))}
        )
