"""The chat API: a course room's history, in the same message shape as the WebSocket frames."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from educa.api import QuerySerializer, StrictIntegerField
from educa.api_viewsets import ViewSet
from educa.db import BIGINT_MAX
from students.selectors import course_get_for_member

from .selectors import (
    HISTORY_LIMIT_DEFAULT,
    HISTORY_LIMIT_MAX,
    SEARCH_MAX_LENGTH,
    mentions_unread,
    message_frame,
    message_list_for_room,
    message_search,
)
from .services import mentions_read

# The most notifications one clearing request names.
NOTIFICATION_IDS_MAX = 1000

SEARCH_BLANK = _("Enter the words to search for.")
SEARCH_WITH_PAGING = _("search returns the best matches: it takes no before or after.")


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

    def validate(self, data):
        if "search" in data and ("before" in data or "after" in data):
            raise serializers.ValidationError({"search": [SEARCH_WITH_PAGING]})
        return data


class MessageSerializer(serializers.Serializer):
    """A `message` frame of the WebSocket protocol (a tombstone when deleted)."""

    type = serializers.ChoiceField(choices=["message"])
    id = serializers.IntegerField()
    seq = serializers.IntegerField(help_text="The message's number in its room, from 1.")
    message = serializers.CharField(allow_null=True, help_text="null once deleted.")
    user = serializers.CharField(allow_null=True, help_text="null for a deleted account.")
    datetime = serializers.DateTimeField()
    client_id = serializers.CharField(allow_null=True)
    deleted = serializers.BooleanField()
    mentions = serializers.ListField(
        child=serializers.CharField(),
        help_text="User names of the members the message mentions (empty once deleted).",
    )
    excerpt = serializers.CharField(
        required=False,
        help_text=(
            "With `search` only: HTML of the matching passage, its text escaped, each match in "
            "<mark>."
        ),
    )


class MessagePageSerializer(serializers.Serializer):
    messages = MessageSerializer(many=True, help_text="Oldest first.")
    has_more = serializers.BooleanField(
        help_text="More messages exist beyond these: older ones, or newer ones with `after`."
    )


class CourseMessageViewSet(ViewSet):
    """Chat history of a course room, for the course's students and instructor."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        parameters=[HistoryQuerySerializer],
        responses=MessagePageSerializer,
        description=(
            "Without `after`: the newest `limit` messages below `before` (or of all). With "
            "`after`: the first `limit` messages above it. With `search`: the best `limit` "
            "matches among live messages, best first, each with an `excerpt`."
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
        page = message_list_for_room(course_id=course.pk, **params)
        frames = [message_frame(message) for message in page.messages]
        return Response({"messages": frames, "has_more": page.has_more})


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
