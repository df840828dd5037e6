"""The chat WebSocket: a protocol adapter between JSON frames and chat/services.py.

Protocol: docs/websocket-protocol.md. The socket's runtime (its mailbox, its seq stream, its
place in the process's hub) is chat/runtime/socket.py; this module parses frames, checks them
and calls one function for each.
"""

import json
import logging
import time
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError
from django.http import Http404

from courses.models import Course
from educa.db import BIGINT_MAX
from students.selectors import course_get_for_member

from . import selectors, services
from .runtime.db import db
from .runtime.socket import CLOSE_TRY_AGAIN_LATER, RoomSocket

logger = logging.getLogger(__name__)

# Typing notices from one socket are forwarded at most this often (seconds).
TYPING_INTERVAL = 1.0
# The longest integer any frame field can hold ("-9223372036854775808"): longer ones are
# refused before int() reads them (it refuses over 4,300 digits, and they are out of range).
NUMBER_DIGITS_MAX = len(str(BIGINT_MAX)) + 1


def _in_range(value, minimum: int, maximum: int = BIGINT_MAX) -> bool:
    """True for a JSON whole number (not a boolean) from minimum to maximum."""
    return isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= maximum


class FrameError(Exception):
    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail


def _json_int(digits: str) -> int:
    """json's parse_int: a number too long for any field is refused before int() reads it."""
    if len(digits) > NUMBER_DIGITS_MAX:
        raise FrameError("invalid_frame", "Numbers in frames are at most 2^63 - 1.")
    return int(digits)


class ChatConsumer(RoomSocket):
    """One browser tab or websocket client in one course room."""

    # The course's owner, not the Course: every socket of a room would hold its own copy.
    owner_id: int | None = None
    last_typing = 0.0

    # --- connection -------------------------------------------------------------------------

    async def connect(self):
        if self.user is None or not self.user.is_authenticated:
            await self.refuse(selectors.CLOSE_NOT_AUTHENTICATED)
            return
        try:
            course = await db(course_get_for_member)(user=self.user, course_id=self.room_id)
        except Http404:
            await self.refuse(selectors.CLOSE_NOT_FOUND)
            return
        except PermissionDenied:
            await self.refuse(selectors.CLOSE_FORBIDDEN)
            return
        except DatabaseError as error:
            logger.warning("Chat socket refused, database unavailable: %s", error)
            await self.refuse(CLOSE_TRY_AGAIN_LATER)
            return
        self.owner_id = course.owner_id
        try:
            after = self._after_from_query()
        except FrameError as error:
            # Reported once the socket is in the room, after its presence snapshot.
            if await self.room_enter(after=None):
                await self._error(error.code, error.detail)
            return
        await self.room_enter(after=after)

    def _after_from_query(self) -> int | None:
        """The `after` query parameter, a seq; None when absent."""
        values = parse_qs(self.scope.get("query_string", b"").decode("latin-1")).get("after")
        if not values:
            return None
        value = values[-1].strip()
        # The length first: int() refuses over 4,300 digits with an error of its own.
        if value.isascii() and value.isdigit() and len(value) <= NUMBER_DIGITS_MAX:
            after = int(value)
            if after <= BIGINT_MAX:
                return after
        raise FrameError("invalid_frame", "after is a seq: a whole number from 0.")

    # --- frames from the client ---------------------------------------------------------------

    async def websocket_receive(self, message):
        if self.closed or self.flooded:
            return
        client_id = None
        try:
            content = self._parse(message)
            if isinstance(content.get("client_id"), str):
                client_id = content["client_id"]
            kind = content.get("type", "message")
            handler = FRAME_HANDLERS.get(kind) if isinstance(kind, str) else None
            if handler is None:
                raise FrameError("invalid_frame", "Unknown frame type.")
            await handler(self, content)
        except FrameError as error:
            await self._error(error.code, error.detail, client_id)
        except ValidationError as error:
            await self._error(error.code or "invalid_frame", error.messages[0], client_id)
        except DatabaseError as error:
            logger.warning("Chat frame not handled, database unavailable: %s", error)
            await self._error("unavailable", "Not stored: try again later.", client_id)

    def _parse(self, message) -> dict:
        text = message.get("text")
        if text is None:
            raise FrameError("invalid_frame", "Frames are JSON text, not binary.")
        try:
            content = json.loads(text, parse_int=_json_int)
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than Python's stack
            raise FrameError("invalid_json", "The frame is not valid JSON.") from None
        if not isinstance(content, dict):
            raise FrameError("invalid_frame", "A frame is a JSON object.")
        return content

    async def _error(self, code: str, detail: str, client_id: str | None = None):
        await self.send_json(
            {"type": "error", "code": code, "detail": detail, "client_id": client_id}
        )

    async def frame_message(self, content: dict):
        if "message" not in content:
            raise FrameError("invalid_frame", 'A message frame has a "message" string.')
        # Refused here, before the writer: an invalid frame costs no rate-limit call or thread
        # hop (message_create_many checks again for its other callers).
        attachment_ids = services.attachment_ids_clean(content.get("attachments"))
        text = services.message_text_clean(content["message"], allow_empty=bool(attachment_ids))
        client_id = services.client_id_clean(content.get("client_id"))
        draft = services.MessageDraft(
            author=self.user,
            course_id=self.room_id,
            text=text,
            client_id=client_id,
            attachment_ids=attachment_ids,
        )
        # Answered by a task of its own: the socket's next frames do not wait for this commit,
        # so each message's sender hears within CHAT_WRITE_TIMEOUT of sending it.
        self.answer_soon(self._message_answer(draft))

    async def _message_answer(self, draft: services.MessageDraft):
        """Store a message frame's draft and answer its sender: the message, or an error."""
        try:
            await self.message_store(draft)
        except ValidationError as error:
            await self._error(error.code or "invalid_frame", error.messages[0], draft.client_id)
        except TimeoutError:
            logger.warning("Chat message not confirmed within CHAT_WRITE_TIMEOUT")
            detail = "Not confirmed: resend it with the same client_id to know."
            await self._error("unavailable", detail, draft.client_id)
        except DatabaseError as error:
            logger.warning("Chat message not stored, database unavailable: %s", error)
            await self._error("unavailable", "Not stored: try again later.", draft.client_id)

    def _course(self) -> Course:
        """The room's course as the services need it: its id and owner."""
        return Course(pk=self.room_id, owner_id=self.owner_id)

    async def frame_history(self, content: dict):
        before, after = content.get("before"), content.get("after")
        limit = content.get("limit", selectors.HISTORY_LIMIT_DEFAULT)
        if before is not None and not _in_range(before, 1):
            raise FrameError("invalid_frame", "before is a seq: a whole number from 1.")
        if after is not None and not _in_range(after, 0):
            raise FrameError("invalid_frame", "after is a seq: a whole number from 0.")
        if not _in_range(limit, 1, selectors.HISTORY_LIMIT_MAX):
            raise FrameError(
                "invalid_frame", f"limit is a whole number from 1 to {selectors.HISTORY_LIMIT_MAX}."
            )
        page = await db(selectors.message_list_for_room)(
            course_id=self.room_id, before=before, after=after, limit=limit
        )
        await self.send_json(
            {
                "type": "history",
                "messages": [selectors.message_frame(message) for message in page.messages],
                "has_more": page.has_more,
            }
        )

    async def frame_typing(self, content: dict):
        now = time.monotonic()
        if now - self.last_typing >= TYPING_INTERVAL:
            self.last_typing = now
            # A muted member's typing would announce a message that cannot come.
            if await db(selectors.mute_until)(course_id=self.room_id, user_id=self.user.pk):
                return
            await services.typing_announce(course_id=self.room_id, username=self.username)

    async def frame_delete(self, content: dict):
        message_id = content.get("id")
        if not _in_range(message_id, -BIGINT_MAX - 1):
            raise FrameError("invalid_frame", "id is a message id.")
        message, changed = await db(services.message_delete)(
            actor=self.user, course=self._course(), message_id=message_id
        )
        if not changed:
            await self.send_json({"type": "message.deleted", "id": message.pk, "seq": message.seq})

    async def frame_mute(self, content: dict):
        await db(services.member_mute)(
            actor=self.user,
            course=self._course(),
            username=content.get("user"),
            minutes=content.get("minutes"),
        )

    async def frame_unmute(self, content: dict):
        await db(services.member_unmute)(
            actor=self.user, course=self._course(), username=content.get("user")
        )

    async def frame_ping(self, content: dict):
        await self.send_json({"type": "pong"})

    async def frame_read(self, content: dict):
        seq = content.get("seq")
        if not _in_range(seq, 0):
            raise FrameError("invalid_frame", "seq is a whole number from 0.")
        await db(services.read_marker_update)(user=self.user, course_id=self.room_id, seq=seq)


FRAME_HANDLERS = {
    "message": ChatConsumer.frame_message,
    "history": ChatConsumer.frame_history,
    "typing": ChatConsumer.frame_typing,
    "delete": ChatConsumer.frame_delete,
    "mute": ChatConsumer.frame_mute,
    "unmute": ChatConsumer.frame_unmute,
    "ping": ChatConsumer.frame_ping,
    "read": ChatConsumer.frame_read,
}


class NotFoundConsumer(AsyncJsonWebsocketConsumer):
    """Any WebSocket path that is not a room: accepted, then closed with 4404."""

    # No channel-layer channel: it has nothing to receive (see TrustedOriginCheck).
    channel_layer_alias = None

    async def connect(self):
        await self.accept()
        await self.close(code=selectors.CLOSE_NOT_FOUND)
