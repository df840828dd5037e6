"""The chat API: a course room's history, in the same message shape as the WebSocket frames."""

from django.core.exceptions import ValidationError as DjangoValidationError
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
    attachment_frame,
    message_frame,
    message_list_for_room,
)
from .services import attachment_create, attachment_size_check


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
    attachments = AttachmentSerializer(many=True, help_text="Empty once deleted.")


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
            "`after`: the first `limit` messages above it."
        ),
    )
    @action(detail=True, methods=["get"])
    def messages(self, request, pk):
        course = course_get_for_member(user=request.user, course_id=pk)
        query = HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = message_list_for_room(course_id=course.pk, **query.validated_data)
        frames = [message_frame(message) for message in page.messages]
        return Response({"messages": frames, "has_more": page.has_more})

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
