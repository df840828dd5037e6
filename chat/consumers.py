"""The chat WebSocket: a protocol adapter between JSON frames and chat/services.py.

Protocol: docs/websocket-protocol.md. Room events reach a socket through the process's hub
(chat/hub.py), which puts them on the socket's own queue; this consumer has no channel-layer
channel of its own.
"""

import asyncio
import json
import logging
import time
import uuid
from urllib.parse import parse_qs

from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError
from django.http import Http404

from courses.models import Course
from students.selectors import course_get_for_member

from . import selectors, services
from .limits import TokenBucket, rate_parse
from .runtime.hub import db, hub_get

logger = logging.getLogger(__name__)

CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_TOO_MANY = 4429
CLOSE_TOO_SLOW = 4408
# A socket whose client reads slower than its room talks is closed once this many frames wait
# for it (it resumes from its last seq on reconnect).
BACKLOG_MAX = 2000
# Typing notices from one socket are forwarded at most this often (seconds).
TYPING_INTERVAL = 1.0
# Seconds before a catch-up the database refused is tried again.
CATCH_UP_RETRY = 1.0


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class Mailbox:
    """A socket's queue of events: one list and, while the socket waits, one future.

    asyncio.Queue keeps four deques (and a deque costs 600 bytes even when empty); thousands of
    idle sockets each hold one. The list is short: the hub writes most frames straight through.
    """

    __slots__ = ("items", "waiter")

    def __init__(self):
        self.items: list = []
        self.waiter: asyncio.Future | None = None

    def put_nowait(self, item) -> None:
        self.items.append(item)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def get(self):
        while not self.items:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        return self.items.pop(0)

    def qsize(self) -> int:
        return len(self.items)


class FrameError(Exception):
    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail


class ChatConsumer(AsyncJsonWebsocketConsumer):
    """One browser tab or websocket client in one course room."""

    async def __call__(self, scope, receive, send):
        self.scope = scope
        # The hub is this socket's only link to the channel layer.
        self.channel_layer = None
        self.queue = Mailbox()
        self.base_send = self._send_guarded(send)
        self.hub = None
        self.joined = False
        # Accepted and greeted: from then on the hub may send room messages directly.
        self.live = False
        self.closed = False
        self.overflowed = False
        self.flooded = False
        self.last_seq = 0
        self.last_typing = 0.0
        self.frame_budget = TokenBucket(rate_parse(settings.CHAT_FRAME_BUDGET))
        self.room_id = scope["url_route"]["kwargs"]["course_id"]
        # The course's owner, not the Course: every socket of a room would hold its own copy.
        self.owner_id = None
        self.user = scope.get("user")
        self.user_id = getattr(self.user, "pk", None)
        self.username = self.user.get_username() if self.user_id is not None else ""
        self.token_key = scope.get("chat_token")
        session = scope.get("session")
        self.session_key = None
        if self.token_key is None and session is not None:
            self.session_key = session.session_key
        self.socket_id = uuid.uuid4().hex
        pump = asyncio.create_task(self._pump(receive))
        try:
            while True:
                await self.dispatch(await self.queue.get())
        except StopConsumer:
            pass
        finally:
            pump.cancel()
            await self._leave()

    async def _pump(self, receive):
        """Put the client's events on the socket's queue, with the hub's, in arrival order.

        One queue and one loop, rather than a task per event. The frame budget is counted here,
        as frames arrive: a flooding socket's frames are dropped, not queued, and it is closed.
        """
        while True:
            message = await receive()
            if message["type"] == "websocket.receive":
                if self.flooded:
                    continue
                if not self.frame_budget.allow():
                    self.flooded = True
                    self.queue.put_nowait({"type": "chat.close", "code": CLOSE_TOO_MANY})
                    continue
            self.queue.put_nowait(message)
            if message["type"] == "websocket.disconnect":
                return

    def _send_guarded(self, send):
        async def guarded(message):
            if self.closed:
                return
            try:
                await send(message)
            except OSError:
                # The client went away; its disconnect event follows.
                self.closed = True

        return guarded

    async def dispatch(self, message):
        # Channels' default dispatch closes old database connections around every event, a
        # thread hop per frame; the database work here runs through `db`, which does it itself.
        handler = getattr(self, message["type"].replace(".", "_"), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- connection -------------------------------------------------------------------------

    async def connect(self):
        if self.user is None or not self.user.is_authenticated:
            await self._refuse(selectors.CLOSE_NOT_AUTHENTICATED)
            return
        try:
            course = await db(course_get_for_member)(user=self.user, course_id=self.room_id)
            self.owner_id = course.owner_id
        except Http404:
            await self._refuse(selectors.CLOSE_NOT_FOUND)
            return
        except PermissionDenied:
            await self._refuse(selectors.CLOSE_FORBIDDEN)
            return
        except DatabaseError as error:
            logger.warning("Chat socket refused, database unavailable: %s", error)
            await self._refuse(CLOSE_TRY_AGAIN_LATER)
            return
        self.hub = hub_get()
        # Set first: however the join ends, leaving is attempted (it is a no-op if not joined).
        self.joined = True
        try:
            joined = await self.hub.join(self)
        except DatabaseError:
            self.joined = False
            await self._refuse(CLOSE_TRY_AGAIN_LATER)
            return
        if joined is None:
            self.joined = False
            await self._refuse(CLOSE_TOO_MANY)
            return
        online, self.last_seq = joined
        await self.accept()
        await self.send_json({"type": "presence", "online": online})
        after = self._after_from_query()
        if after == -1:
            await self._error("invalid_frame", "after is a seq: a whole number from 0.")
        elif after is not None:
            try:
                newest = await db(selectors.room_last_seq)(course_id=self.room_id)
                # A client ahead of the room (a reset database) restarts from its end.
                self.last_seq = min(after, newest)
                await self._catch_up()
            except DatabaseError as error:
                self._catch_up_later(error)
        self.live = True

    def _after_from_query(self) -> int | None:
        """The `after` query parameter: None when absent, -1 when it is not a valid seq."""
        values = parse_qs(self.scope.get("query_string", b"").decode("latin-1")).get("after")
        if not values:
            return None
        value = values[-1].strip()
        if not value.isascii() or not value.isdigit():
            return -1
        return int(value)

    async def _refuse(self, code: int):
        # Accepted first: a close before accepting is an HTTP 403 the client cannot read.
        await self.accept()
        await self._close(code)

    async def _close(self, code: int):
        if self.closed:
            return
        await self.close(code=code)
        self.closed = True
        await self._leave()

    async def _leave(self):
        if self.joined:
            self.joined = False
            try:
                await self.hub.leave(self)
            except Exception:
                logger.exception("Chat socket left its room uncleanly")

    async def disconnect(self, code):
        self.closed = True
        await self._leave()

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
            content = json.loads(text)
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
        text = services.message_text_clean(content["message"])
        client_id = services.client_id_clean(content.get("client_id"))
        message, created = await self.hub.writer.write(
            services.MessageDraft(
                author=self.user, course_id=self.room_id, text=text, client_id=client_id
            )
        )
        # The acknowledgement is the sender's copy, in seq order with everything else: usually
        # the hub has delivered it already. A resend of a message this socket already has is
        # answered with the stored one.
        if message.seq > self.last_seq or not created:
            text = json.dumps(selectors.message_frame(message))
            if message.seq > self.last_seq:
                await self._send_seq(message.seq, text)
            else:
                await self.send(text_data=text)

    def _course(self) -> Course:
        """The room's course as the services need it: its id and owner."""
        return Course(pk=self.room_id, owner_id=self.owner_id)

    async def frame_history(self, content: dict):
        before, after = content.get("before"), content.get("after")
        limit = content.get("limit", selectors.HISTORY_LIMIT_DEFAULT)
        if before is not None and (not _is_int(before) or before < 1):
            raise FrameError("invalid_frame", "before is a seq: a whole number from 1.")
        if after is not None and (not _is_int(after) or after < 0):
            raise FrameError("invalid_frame", "after is a seq: a whole number from 0.")
        if not _is_int(limit) or not 1 <= limit <= selectors.HISTORY_LIMIT_MAX:
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
            await services.typing_announce(course_id=self.room_id, username=self.username)

    async def frame_delete(self, content: dict):
        message_id = content.get("id")
        if not _is_int(message_id):
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

    async def frame_ping(self, content: dict):
        await self.send_json({"type": "pong"})

    async def frame_read(self, content: dict):
        seq = content.get("seq")
        if not _is_int(seq) or seq < 0:
            raise FrameError("invalid_frame", "seq is a whole number from 0.")
        await db(services.read_marker_update)(user=self.user, course_id=self.room_id, seq=seq)

    # --- events from the hub ------------------------------------------------------------------

    async def deliver(self, seq: int, text: str) -> None:
        """Called by the hub with a room message: sent at once if it is this socket's next seq.

        Anything else (a gap, a closing socket) goes through the queue, where the gap is filled
        from the database first. Every sender of seq frames checks and moves last_seq before
        sending, so a catch-up running meanwhile skips what was delivered here.
        """
        if seq == self.last_seq + 1 and self.live and not self.closed and not self.overflowed:
            self.last_seq = seq
            await self.base_send({"type": "websocket.send", "text": text})
        else:
            self.hub_put({"type": "chat.frame", "seq": seq, "text": text})

    def hub_put(self, item: dict) -> None:
        """Called by the hub; never blocks. A socket too far behind is closed instead."""
        if self.overflowed:
            return
        if self.queue.qsize() >= BACKLOG_MAX:
            self.overflowed = True
            self.queue.put_nowait({"type": "chat.close", "code": CLOSE_TOO_SLOW})
            return
        self.queue.put_nowait(item)

    async def chat_frame(self, item: dict):
        if self.closed:
            return
        if self.overflowed:
            await self._close(CLOSE_TOO_SLOW)
            return
        if item["seq"] is None:
            await self.send(text_data=item["text"])
            return
        try:
            await self._send_seq(item["seq"], item["text"])
        except DatabaseError as error:
            self._catch_up_later(error)

    async def chat_catch_up(self, item: dict):
        if self.closed:
            return
        try:
            await self._catch_up()
        except DatabaseError as error:
            self._catch_up_later(error)

    def _catch_up_later(self, error: Exception) -> None:
        """A gap could not be read from the database: try again shortly (nothing is skipped)."""
        logger.warning("Chat socket catch-up postponed, database unavailable: %s", error)
        asyncio.get_running_loop().call_later(
            CATCH_UP_RETRY, self.hub_put, {"type": "chat.catch_up"}
        )

    async def chat_close(self, item: dict):
        await self._close(item["code"])

    async def chat_recheck(self, item: dict):
        if self.closed:
            return
        code = item.get("close")
        if code is None:
            try:
                code = await db(selectors.chat_socket_refusal)(
                    user_id=self.user_id,
                    course_id=self.room_id,
                    session_key=self.session_key,
                    token_key=self.token_key,
                )
            except DatabaseError as error:
                logger.warning("Chat socket not re-checked: %s", error)
                return
        if code is not None:
            await self._close(code)

    async def chat_presence_resync(self, item: dict):
        if not self.closed and self.joined:
            online = await self.hub.state.presence_list(room_id=self.room_id)
            await self.send_json({"type": "presence", "online": online})

    # --- seq order ----------------------------------------------------------------------------

    async def _send_seq(self, seq: int, text: str):
        """Send a message frame unless already sent; a gap before it is filled from the database."""
        if seq <= self.last_seq:
            return
        if seq > self.last_seq + 1:
            await self._catch_up(upto=seq - 1)
        if seq > self.last_seq:
            self.last_seq = seq
            await self.send(text_data=text)

    async def _catch_up(self, upto: int | None = None):
        """Send every stored message above last_seq (up to `upto`), oldest first."""
        while True:
            batch = await db(selectors.message_list_between)(
                course_id=self.room_id, after=self.last_seq, upto=upto
            )
            for message in batch:
                if message.seq > self.last_seq:
                    self.last_seq = message.seq
                    await self.send(text_data=json.dumps(selectors.message_frame(message)))
            done = upto is not None and self.last_seq >= upto
            if len(batch) < selectors.REPLAY_BATCH or done or self.closed:
                return


FRAME_HANDLERS = {
    "message": ChatConsumer.frame_message,
    "history": ChatConsumer.frame_history,
    "typing": ChatConsumer.frame_typing,
    "delete": ChatConsumer.frame_delete,
    "mute": ChatConsumer.frame_mute,
    "ping": ChatConsumer.frame_ping,
    "read": ChatConsumer.frame_read,
}


class NotFoundConsumer(AsyncJsonWebsocketConsumer):
    """Any WebSocket path that is not a room: accepted, then closed with 4404."""

    # No channel-layer channel: it has nothing to receive (see AllowedHostsOriginCheck).
    channel_layer_alias = None

    async def connect(self):
        await self.accept()
        await self.close(code=selectors.CLOSE_NOT_FOUND)
