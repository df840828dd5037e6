"""The chat WebSocket: a protocol adapter between JSON frames and chat/services.py.

Protocol: docs/websocket-protocol.md. The socket's runtime (its mailbox, its seq stream, its
place in the process's hub) is chat/runtime/socket.py; this module parses frames, checks them
and calls one function for each.
"""

import logging
import time
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError
from django.http import Http404
from django.utils import translation
from django.utils.translation import gettext as _

from courses.models import Course
from educa.db import BIGINT_MAX
from educa.json_input import JSONInputError, JSONNumberError, json_loads_strict
from students.language import language_for_scope
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
# Parameters of a service's refusal that its error frame carries as fields of their own.
ERROR_FIELDS = ("until",)


def _in_range(value, minimum: int, maximum: int = BIGINT_MAX) -> bool:
    """True for a JSON whole number (not a boolean) from minimum to maximum."""
    return isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= maximum


class FrameError(Exception):
    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail


def _query_number(query: dict, name: str, detail: str) -> int | None:
    """A whole-number query parameter from 0 to BIGINT_MAX; None when absent."""
    values = query.get(name)
    if not values:
        return None
    value = values[-1].strip()
    # The length first: int() refuses over 4,300 digits with an error of its own.
    if value.isascii() and value.isdigit() and len(value) <= NUMBER_DIGITS_MAX:
        number = int(value)
        if number <= BIGINT_MAX:
            return number
    raise FrameError("invalid_frame", detail)


class ChatConsumer(RoomSocket):
    """One browser tab or websocket client in one course room."""

    # The course's owner, not the Course: every socket of a room would hold its own copy.
    owner_id: int | None = None
    last_typing = 0.0
    # The handshake's language (cookie, else Accept-Language): error details are written in it.
    language: str | None = None

    async def dispatch(self, message):
        # Only the client's events are answered with words; the hub's (a room's fan-out) skip
        # the switch.
        if not message["type"].startswith("websocket."):
            await super().dispatch(message)
            return
        if self.language is None:
            self.language = language_for_scope(self.scope)
        # Answers started from here (answer_soon's tasks) copy the active language with the
        # rest of the context.
        with translation.override(self.language):
            await super().dispatch(message)

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
            after, rev = self._resume_from_query()
        except FrameError as error:
            # Reported once the socket is in the room, after its presence snapshot.
            if await self.room_enter(after=None):
                await self._error(error.code, error.detail)
            return
        await self.room_enter(after=after, rev=rev)

    def _resume_from_query(self) -> tuple[int | None, int | None]:
        """The `after` (a seq) and `rev` query parameters; None when absent."""
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        after = _query_number(query, "after", _("after is a seq: a whole number from 0."))
        rev = _query_number(query, "rev", _("rev is a whole number from 0."))
        if rev is not None and after is None:
            raise FrameError("invalid_frame", _("rev needs after: ?after=<seq>&rev=<rev>."))
        return after, rev

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
                raise FrameError("invalid_frame", _("Unknown frame type."))
            await handler(self, content)
        except FrameError as error:
            await self._error(error.code, error.detail, client_id)
        except ValidationError as error:
            await self._refusal(error, client_id)
        except DatabaseError as error:
            logger.warning("Chat frame not handled, database unavailable: %s", error)
            await self._error("unavailable", _("Not stored: try again later."), client_id)

    def _parse(self, message) -> dict:
        text = message.get("text")
        if text is None:
            raise FrameError("invalid_frame", _("Frames are JSON text, not binary."))
        try:
            content = json_loads_strict(text, int_digits_max=NUMBER_DIGITS_MAX)
        except JSONNumberError:
            # Well-formed JSON, but no field takes the number (too long, NaN, 1e400): a bad
            # frame, as 2^63 is, not bad JSON.
            raise FrameError(
                "invalid_frame", _("Numbers in frames are at most 2^63 - 1.")
            ) from None
        except JSONInputError:
            raise FrameError("invalid_json", _("The frame is not valid JSON.")) from None
        if not isinstance(content, dict):
            raise FrameError("invalid_frame", _("A frame is a JSON object."))
        return content

    async def _error(self, code: str, detail: str, client_id: str | None = None, **fields):
        await self.send_json(
            {"type": "error", "code": code, "detail": detail, "client_id": client_id, **fields}
        )

    async def _refusal(self, error: ValidationError, client_id: str | None):
        """A service's refusal as an error frame; its data (a mute's end) as fields of their own,
        so that the client says them in its reader's language and time zone."""
        params = getattr(error, "params", None) or {}
        fields = {name: params[name] for name in ERROR_FIELDS if name in params}
        await self._error(error.code or "invalid_frame", error.messages[0], client_id, **fields)

    async def frame_message(self, content: dict):
        if "message" not in content:
            raise FrameError("invalid_frame", _('A message frame has a "message" string.'))
        # Refused here, before the writer: an invalid frame costs no rate-limit call or thread
        # hop (message_create_many checks again for its other callers).
        attachment_ids = services.attachment_ids_clean(content.get("attachments"))
        text = services.message_text_clean(content["message"], allow_empty=bool(attachment_ids))
        client_id = services.client_id_clean(content.get("client_id"))
        reply_to = services.reply_to_clean(content.get("reply_to"))
        about = services.about_clean(content.get("about"))
        draft = services.MessageDraft(
            author=self.user,
            course_id=self.room_id,
            text=text,
            client_id=client_id,
            reply_to=reply_to,
            attachment_ids=attachment_ids,
            about=about,
        )
        # Answered by a task of its own: the socket's next frames do not wait for this commit,
        # so each message's sender hears within CHAT_WRITE_TIMEOUT of sending it.
        self.answer_soon(
            self._stored_or_refused(
                self.message_store(draft),
                client_id=draft.client_id,
                unconfirmed=_("Not confirmed: resend it with the same client_id to know."),
            )
        )

    async def _stored_or_refused(self, store, *, client_id=None, unconfirmed: str):
        """Await a write through the process's writer; tell the sender if it was refused, not
        confirmed within CHAT_WRITE_TIMEOUT (`unconfirmed` says what to do) or not stored."""
        try:
            await store
        except ValidationError as error:
            await self._refusal(error, client_id)
        except TimeoutError:
            logger.warning("Chat write not confirmed within CHAT_WRITE_TIMEOUT")
            await self._error("unavailable", unconfirmed, client_id)
        except DatabaseError as error:
            logger.warning("Chat write not stored, database unavailable: %s", error)
            await self._error("unavailable", _("Not stored: try again later."), client_id)

    def _course(self) -> Course:
        """The room's course as the services need it: its id and owner."""
        return Course(pk=self.room_id, owner_id=self.owner_id)

    async def frame_history(self, content: dict):
        before, after = content.get("before"), content.get("after")
        limit = content.get("limit", selectors.HISTORY_LIMIT_DEFAULT)
        if before is not None and not _in_range(before, 1):
            raise FrameError("invalid_frame", _("before is a seq: a whole number from 1."))
        if after is not None and not _in_range(after, 0):
            raise FrameError("invalid_frame", _("after is a seq: a whole number from 0."))
        if not _in_range(limit, 1, selectors.HISTORY_LIMIT_MAX):
            raise FrameError(
                "invalid_frame",
                _("limit is a whole number from 1 to %(max)s.")
                % {"max": selectors.HISTORY_LIMIT_MAX},
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
            raise FrameError("invalid_frame", _("id is a message id."))
        message, changed = await db(services.message_delete)(
            actor=self.user, course=self._course(), message_id=message_id
        )
        if not changed:
            await self.send_json(selectors.message_deleted_frame(message))

    async def frame_edit(self, content: dict):
        if "message" not in content:
            raise FrameError("invalid_frame", _('An edit frame has a "message" string.'))
        await db(services.message_edit)(
            actor=self.user,
            course=self._course(),
            message_id=_message_id(content),
            text=content["message"],
        )

    async def frame_react(self, content: dict):
        draft = services.ReactionDraft(
            actor=self.user,
            course_id=self.room_id,
            message_id=_message_id(content),
            emoji=services.emoji_clean(content.get("emoji")),
        )
        # Through the process's writer, with the room's messages (one transaction for many),
        # and answered, like a message, without holding up the socket's next frames.
        self.answer_soon(
            self._stored_or_refused(
                self.hub.writer.write(draft),
                unconfirmed=_(
                    "Not confirmed: the message's next update shows whether it was stored."
                ),
            )
        )

    async def frame_pin(self, content: dict):
        await self._pin(content, pinned=True)

    async def frame_unpin(self, content: dict):
        await self._pin(content, pinned=False)

    async def _pin(self, content: dict, *, pinned: bool):
        message, changed = await db(services.message_pin)(
            actor=self.user, course=self._course(), message_id=_message_id(content), pinned=pinned
        )
        if not changed:
            # Its sender still learns the message's state; the others had it already.
            # Built in a thread: a message's mentions and files may need a query.
            await self.send_json(await db(selectors.message_updated_frame)(message))

    async def frame_answer(self, content: dict):
        if "answer_id" not in content:
            raise FrameError("invalid_frame", _('An answer frame has an "answer_id" (or null).'))
        message, changed = await db(services.question_answer)(
            actor=self.user,
            course=self._course(),
            message_id=_message_id(content),
            answer_id=content["answer_id"],
        )
        if not changed:
            # Built in a thread: a message's mentions and files may need a query.
            await self.send_json(await db(selectors.message_updated_frame)(message))

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
            raise FrameError("invalid_frame", _("seq is a whole number from 0."))
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
    "edit": ChatConsumer.frame_edit,
    "react": ChatConsumer.frame_react,
    "pin": ChatConsumer.frame_pin,
    "unpin": ChatConsumer.frame_unpin,
    "answer": ChatConsumer.frame_answer,
}


def _message_id(content: dict) -> int:
    message_id = content.get("id")
    if not _in_range(message_id, -BIGINT_MAX - 1):
        raise FrameError("invalid_frame", _("id is a message id."))
    return message_id


class NotFoundConsumer(AsyncJsonWebsocketConsumer):
    """Any WebSocket path that is not a room: accepted, then closed with 4404."""

    # No channel-layer channel: it has nothing to receive (see TrustedOriginCheck).
    channel_layer_alias = None

    async def connect(self):
        await self.accept()
        await self.close(code=selectors.CLOSE_NOT_FOUND)
