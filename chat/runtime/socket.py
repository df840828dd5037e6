"""One socket's side of the runtime: its mailbox, its message stream and its place in the hub.

`RoomSocket` runs a consumer its own way instead of Channels' (for speed and idle memory): no
channel-layer channel per socket (the hub is its only link to the layer), and one list-based
mailbox and one pump task instead of Channels' dispatch of every event. chat/consumers.py
builds the chat protocol on it and handles frames only.
"""

import asyncio
import json
import logging
import uuid

from autobahn.exception import Disconnected
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError

from educa.ratelimit import TokenBucket, rate_parse

from .. import selectors
from .access import socket_refusal
from .db import db
from .hub import hub_get
from .seq import SeqStream

logger = logging.getLogger(__name__)

CLOSE_SERVICE_RESTART = 1012
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_TOO_MANY = 4429
CLOSE_TOO_SLOW = 4408
# A socket whose client reads slower than its room talks is closed once this many frames wait
# for it (it resumes from its last seq on reconnect).
BACKLOG_MAX = 2000
# Seconds before a gap fill the database refused is tried again.
CATCH_UP_RETRY = 1.0
# A client that went away mid-send: OSError from the network (and Uvicorn), autobahn's
# Disconnected from Daphne. Its disconnect event follows; it is not an error.
CLIENT_GONE = (OSError, Disconnected)


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


class RoomSocket(SeqStream, AsyncJsonWebsocketConsumer):
    """A WebSocket in one course room, as the hub sees it.

    Subclasses implement `connect` (ending in `room_enter` or `refuse`) and `websocket_receive`.
    """

    # Class defaults, set on the instance only when they change: thousands of idle sockets
    # each hold one instance. Draining: the process is stopping and reads no more frames.
    draining = False
    # Answers to this socket's messages still being stored (answer_soon); None until the first,
    # so an idle socket holds no set.
    answers: set[asyncio.Task] | None = None
    # The socket's loop has finished (its client is gone or its close handshake is done).
    ended = False

    async def __call__(self, scope, receive, send):
        # Replaces AsyncConsumer.__call__ and dispatch of channels 4.3.2 (what they set up is
        # checked by tests/chat/test_socket.py, which fails when an upgrade changes them).
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
        self.last_rev = 0
        self.filling = 0
        # The seq the socket's stream starts after: it has every seq above, up to last_seq.
        self.first_seq = 0
        self.frame_budget = TokenBucket(rate_parse(settings.CHAT_FRAME_BUDGET))
        self.room_id = scope["url_route"]["kwargs"]["course_id"]
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
            await self.room_leave()
            self.ended = True

    async def _pump(self, receive):
        """Put the client's events on the socket's queue, with the hub's, in arrival order.

        One queue and one loop, rather than a task per event. The frame budget is counted here,
        as frames arrive: a flooding socket's frames are dropped, not queued, and it is closed.
        """
        while True:
            message = await receive()
            if message["type"] == "websocket.receive":
                if self.flooded or self.draining:
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
            except CLIENT_GONE:
                self.closed = True

        return guarded

    async def dispatch(self, message):
        # Channels' default dispatch closes old database connections around every event, a
        # thread hop per frame; the database work here runs through `db`, which does it itself.
        handler = getattr(self, message["type"].replace(".", "_"), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- the room ---------------------------------------------------------------------------

    async def room_enter(self, *, after: int | None, rev: int | None = None) -> bool:
        """Join the room, accept, send the online list and replay what the client lacks: with
        `after`, the messages after that seq; with `rev` too, first the current state of the
        earlier messages changed after that rev.

        False if the socket was refused instead (closed with 1013 or 4429).
        """
        self.hub = hub_get()
        # Set first: however the join ends, leaving is attempted (it is a no-op if not joined).
        self.joined = True
        try:
            joined = await self.hub.join(self)
        except DatabaseError:
            self.joined = False
            await self.refuse(CLOSE_TRY_AGAIN_LATER)
            return False
        if joined is None:
            self.joined = False
            await self.refuse(CLOSE_TOO_MANY)
            return False
        online, (self.last_seq, self.last_rev) = joined
        self.first_seq = self.last_seq
        await self.accept()
        await self.send_json({"type": "presence", "online": online})
        if after is not None:
            # Until the room's newest position is read, nothing the client lacks may be skipped.
            self.last_seq = self.first_seq = min(after, self.last_seq)
            if rev is not None:
                self.last_rev = min(rev, self.last_rev)
            try:
                newest = await db(selectors.room_position)(course_id=self.room_id)
                # A client ahead of the room (a reset database) restarts from its end.
                self.last_seq = self.first_seq = min(after, newest[0])
                if rev is not None:
                    self.last_rev = min(rev, newest[1])
                await self.gap_fill(updates=rev is not None, newest=newest)
            except DatabaseError as error:
                self._gap_fill_later(error)
        self.live = True
        return True

    def drain_close(self) -> None:
        """Read no more frames; close with 1012 once the ones already queued are handled.

        The close waits its turn in the queue, so a message received before the drain is
        stored and acknowledged first; the client resends anything later with its client_id.
        """
        self.draining = True
        self.queue.put_nowait({"type": "chat.close", "code": CLOSE_SERVICE_RESTART})

    async def refuse(self, code: int):
        # Accepted first: a close before accepting is an HTTP 403 the client cannot read.
        await self.accept()
        await self._close(code)

    async def _close(self, code: int):
        if self.closed:
            return
        await self.close(code=code)
        self.closed = True
        await self.room_leave()

    async def room_leave(self):
        if self.joined:
            self.joined = False
            try:
                await self.hub.leave(self)
            except Exception:
                logger.exception("Chat socket left its room uncleanly")

    async def disconnect(self, code):
        self.closed = True
        await self.room_leave()

    def answer_soon(self, coroutine) -> None:
        """Run a sender's answer in a task of its own, kept (and awaited by a drain) until it
        ends: the socket's next frames do not wait for this commit."""
        if self.answers is None:
            self.answers = set()
        task = asyncio.get_running_loop().create_task(coroutine)
        self.answers.add(task)
        task.add_done_callback(self.answers.discard)

    async def message_store(self, draft) -> None:
        """Store a message through the process's writer, then answer its sender."""
        message, _ = await self.hub.writer.write(draft)
        # The acknowledgement is the sender's copy, in seq order with everything else: usually
        # the hub has delivered it already, and a seq the socket has is never sent again (a
        # resend's answer included). Only a message older than the socket's stream (a resend
        # after reconnecting) is sent on its own: the socket never had it.
        if message.seq > self.last_seq:
            try:
                text = json.dumps(selectors.message_frame(message))
                await self.seq_send(message.seq, message.rev, text, True)
            except DatabaseError as error:
                self._gap_fill_later(error)
        elif message.seq <= self.first_seq:
            await self.send(text_data=json.dumps(selectors.message_frame(message)))

    # --- events from the hub ------------------------------------------------------------------

    async def deliver(self, seq: int, rev: int, text: str, new: bool) -> None:
        """Called by the hub with a room's message or change: sent at once if it is this
        socket's next rev.

        Anything else (a gap, a fill under way, a closing socket) goes through the queue, where
        the gap is filled from the database first.
        """
        if self._direct():
            accepted = self.seq_accept(seq, rev, new)
            if accepted:
                await self.base_send({"type": "websocket.send", "text": text})
            if accepted is not None:
                return
        self.hub_put({"type": "chat.frame", "seq": seq, "rev": rev, "text": text, "new": new})

    async def deliver_fill(self, start: tuple[int, int], fill) -> None:
        """Called by the hub with what its room read from the database after `start` (a
        position): sent at once if this socket was there too, else the socket fills itself."""
        if (self.last_seq, self.last_rev) != start:
            self.hub_put({"type": "chat.gap_fill"})
        elif self._direct():
            self.last_seq, self.last_rev = fill.last_seq, fill.last_rev
            for text in fill.texts:
                await self.base_send({"type": "websocket.send", "text": text})
        else:
            self.hub_put({"type": "chat.fill", "start": start, "fill": fill})

    def _direct(self) -> bool:
        """True when the hub may write to the client itself (nothing waits in the queue)."""
        return (
            self.live
            and not self.closed
            and not self.overflowed
            and not self.filling
            and not self.held
        )

    def hub_put(self, item: dict) -> None:
        """Called by the hub; never blocks. A socket too far behind is closed instead."""
        if self.overflowed:
            return
        if self.queue.qsize() >= BACKLOG_MAX:
            self.overflowed = True
            self.queue.put_nowait({"type": "chat.close", "code": CLOSE_TOO_SLOW})
            return
        self.queue.put_nowait(item)

    async def seq_emit(self, seq: int, rev: int, text: str, new: bool) -> None:
        await self.send(text_data=text)

    def seq_stopped(self) -> bool:
        return self.closed

    def seq_grace_over(self) -> None:
        self.hub_put({"type": "chat.gap_fill", "grace": True})

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
            await self.seq_send(item["seq"], item["rev"], item["text"], item["new"])
        except DatabaseError as error:
            self._gap_fill_later(error)

    async def chat_fill(self, item: dict):
        if self.closed:
            return
        fill = item["fill"]
        if (self.last_seq, self.last_rev) == item["start"]:
            self.last_seq, self.last_rev = fill.last_seq, fill.last_rev
            for text in fill.texts:
                await self.send(text_data=text)
            if self.held:
                await self.seq_release()
        else:
            await self.chat_gap_fill(item)

    async def chat_gap_fill(self, item: dict):
        if self.closed or (item.get("grace") and not self.held):
            # The held items' missing change arrived after all.
            return
        try:
            await self.gap_fill()
        except DatabaseError as error:
            self._gap_fill_later(error)

    def _gap_fill_later(self, error: Exception) -> None:
        """A gap could not be read from the database: try again shortly (nothing is skipped)."""
        logger.warning("Chat socket catch-up postponed, database unavailable: %s", error)
        asyncio.get_running_loop().call_later(
            CATCH_UP_RETRY, self.hub_put, {"type": "chat.gap_fill"}
        )

    async def chat_close(self, item: dict):
        if item["code"] == CLOSE_SERVICE_RESTART and self.answers:
            # A drain: the messages received before it are answered before the close.
            await asyncio.wait(list(self.answers))
        await self._close(item["code"])

    async def chat_recheck(self, item: dict):
        if self.closed:
            return
        code = item.get("close")
        if code is None:
            code = await socket_refusal(self)
        if code is not None:
            await self._close(code)

    async def chat_presence_resync(self, item: dict):
        if not self.closed and self.joined:
            online = await self.hub.state.presence_list(room_id=self.room_id)
            await self.send_json({"type": "presence", "online": online})
