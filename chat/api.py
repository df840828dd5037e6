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
    REPLAY_BATCH,
    message_edit_list,
    message_frame,
    message_get_for_moderator,
    message_list_changed,
    message_list_for_room,
    message_list_pinned,
    message_updated_frame,
    question_list_for_course,
    question_with_answer_frame,
)

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

    def validate(self, attrs):
        if "since_rev" in attrs and "after" not in attrs:
            raise serializers.ValidationError({"since_rev": [SINCE_REV_NEEDS_AFTER]})
        return attrs


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
    attachments = serializers.ListField(child=serializers.DictField())
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
            "resume): also `updates`, the current state of the earlier messages changed since."
        ),
    )
    @action(detail=True, methods=["get"])
    def messages(self, request, pk):
        course = course_get_for_member(user=request.user, course_id=pk)
        query = HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
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
