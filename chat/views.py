from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpResponse
from django.utils.translation import gettext
from django.views import View
from django.views.generic import TemplateView
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from educa.db import BIGINT_MAX
from educa.protected_media import protected_file_response
from students.selectors import course_get_for_member, course_member_usernames

from .mentions import INSTRUCTOR_ALIAS
from .selectors import (
    HISTORY_LIMIT_DEFAULT,
    HISTORY_LIMIT_MAX,
    REACTION_EMOJI,
    attachment_get_for_member,
    content_links_for_course,
    content_title_for_course,
    course_list_for_chat,
    message_frame,
    message_list_for_room,
    message_list_pinned,
    mutes_for_room,
    room_position,
)
from .services import read_marker_update


class ChatRoomListView(LoginRequiredMixin, TemplateView):
    """The user's chat rooms with their unread counts."""

    template_name = "chat/room_list.html"
    http_method_names = ["get", "head", "options"]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Under the context processor's name: the navigation's total reads the same list.
        context["chat_rooms"] = course_list_for_chat(user=self.request.user)
        return context


class ChatRoomView(LoginRequiredMixin, TemplateView):
    """A course's chat room: the newest messages rendered here, the rest live over WebSocket."""

    template_name = "chat/room.html"
    http_method_names = ["get", "head", "options"]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        course = course_get_for_member(user=user, course_id=self.kwargs["course_id"])
        # Read before the messages: the page's socket resumes from it, so a change made while
        # the page is built arrives again rather than never.
        _, last_rev = room_position(course_id=course.pk)
        page = message_list_for_room(course_id=course.pk, limit=HISTORY_LIMIT_DEFAULT)
        pins = message_list_pinned(course_id=course.pk)
        last_seq = page.messages[-1].seq if page.messages else 0
        # What the page shows counts as read.
        read_marker_update(user=user, course_id=course.pk, seq=last_seq)
        content_links = content_links_for_course(course_id=course.pk)
        about = self._about(course)
        context.update(
            course=course,
            about=about,
            # Not `messages`: that name is Django's messages framework in templates/base.html.
            history=page.messages,
            has_more=page.has_more,
            pins=pins,
            is_owner=course.owner_id == user.pk,
            attachment_max_bytes=settings.CHAT_ATTACHMENT_MAX_BYTES,
            chat_config={
                "courseId": course.pk,
                "username": user.get_username(),
                "isOwner": course.owner_id == user.pk,
                # Their messages carry the room's "Instructor" badge.
                "ownerUsername": course.owner.get_username(),
                "lastSeq": last_seq,
                "lastRev": last_rev,
                # The page's messages and pins as frames: the script renders them as it renders
                # the frames it receives.
                "history": [message_frame(message) for message in page.messages],
                "pins": [message_frame(message) for message in pins],
                "reactions": REACTION_EMOJI,
                "editWindowSeconds": settings.CHAT_EDIT_WINDOW,
                "hasMore": page.has_more,
                "socketPath": f"/ws/chat/room/{course.pk}/",
                "maxLength": settings.CHAT_MAX_LENGTH,
                "historyLimit": HISTORY_LIMIT_MAX,
                "deleteWindowSeconds": settings.CHAT_DELETE_WINDOW,
                "mutes": mutes_for_room(course_id=course.pk),
                # For completing mentions after `@`.
                "members": course_member_usernames(course=course),
                "instructorAlias": INSTRUCTOR_ALIAS,
                # ?about=<content id>: the question the page starts with ({id, title}).
                "about": about,
                # Content id -> its place in the study view, for question labels.
                "contentLinks": content_links,
            },
        )
        return context

    def _about(self, course) -> dict | None:
        """The content ?about= names, if it is one of the course's: {id, title}. Anything else
        is ignored: the page opens without a question."""
        value = self.request.GET.get("about", "")
        # The length first: int() refuses over 4,300 digits with an error of its own.
        if not (value.isascii() and value.isdigit() and len(value) <= len(str(BIGINT_MAX))):
            return None
        content_id = int(value)
        if content_id > BIGINT_MAX:
            return None
        title = content_title_for_course(course_id=course.pk, content_id=content_id)
        return None if title is None else {"id": content_id, "title": title}


class AttachmentView(LoginRequiredMixin, View):
    """A chat attachment (or its thumbnail) for the members of its room, as a download.

    Frames link here, and API clients have no session: an `Authorization: Token <key>` header
    authenticates as it does for the API (an unknown key is a 401, not a login redirect).
    """

    http_method_names = ["get", "head"]
    thumbnail = False

    def dispatch(self, request, *args, **kwargs):
        try:
            authenticated = TokenAuthentication().authenticate(request)
        except AuthenticationFailed as refusal:
            response = HttpResponse(str(refusal.detail), status=401, content_type="text/plain")
            response["WWW-Authenticate"] = TokenAuthentication().authenticate_header(request)
            return response
        if authenticated is not None:
            request.user = authenticated[0]
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, id):
        attachment = attachment_get_for_member(user=request.user, attachment_id=id)
        file = attachment.thumbnail if self.thumbnail else attachment.file
        if not file:
            raise Http404(gettext("This attachment has no thumbnail."))
        return protected_file_response(
            file, content_type=attachment.content_type, download_name=attachment.name
        )
