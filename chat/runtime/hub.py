"""The per-process room hub: one channel-layer message per room message per server process.

A process joins each room's group once, on a single channel of its own (chat/runtime/layer.py),
and hands every event to its local sockets itself. It numbers nothing: the database does
(chat/services.py). The hub only makes sure each local socket sees every seq of its room once
and in order, whatever the layer did:

- an event whose seq is not the next one makes the room read the missing seqs from the
  database (chat/runtime/seq.py);
- every CHAT_RECONCILE_INTERVAL seconds it compares its rooms with the database (one query), so
  messages the layer dropped (over capacity) or never carried (Redis down) still arrive;
- when the layer comes back after an outage it re-joins its groups, catches up from the
  database, re-sends the presence snapshot and re-checks every socket's access.

While it runs, the hub is the publisher of its event loop (chat/events.py): events this process
publishes reach its own sockets at once and the layer afterwards; the layer's copy, marked with
this hub's origin, is then ignored.
"""

import asyncio
import contextlib
import logging
import time
import uuid
import weakref

from django.conf import settings
from django.db import DatabaseError

from .. import events, selectors
from .access import access_event_route, access_recheck_everyone
from .db import db
from .layer import LayerLink
from .presence import presence_enter, presence_exit, presence_gone_announce, presence_resync
from .rooms import Room, RoomRegistry
from .shared_state import SharedState
from .writer import MessageWriter

logger = logging.getLogger(__name__)

# Seconds between a drain's looks at the sockets it is waiting for.
DRAIN_POLL = 0.05


class Hub:
    """Fan-out, presence and limits for the sockets of one event loop (one server process)."""

    def __init__(self):
        self.process_id = uuid.uuid4().hex[:16]
        self.rooms = RoomRegistry(grace_post=lambda event: self._inbox.put_nowait((True, event)))
        self.link = LayerLink(
            receive=lambda local, event: self._inbox.put_nowait((local, event)),
            room_groups=lambda: {events.room_group(room_id) for room_id in self.rooms.rooms},
        )
        self.state: SharedState | None = None
        self.running = False
        self._inbox: asyncio.Queue = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []
        self._stopping = asyncio.Event()
        self._side_tasks: set[asyncio.Task] = set()
        self._lifecycle = asyncio.Lock()
        self.writer = MessageWriter(
            run_in_thread=db,
            rate_allow_many=lambda senders, rate: self.state.rate_allow_many(senders, rate=rate),
            rate_refund_many=lambda senders: self.state.rate_refund_many(senders),
        )

    # --- lifecycle --------------------------------------------------------------------------

    async def _start(self) -> None:
        self.state = SharedState(
            url=settings.CHAT_REDIS_URL,
            process_id=self.process_id,
            ttl=settings.CHAT_PRESENCE_TTL,
        )
        self._inbox = asyncio.Queue()
        self._stopping = asyncio.Event()
        await self.link.open()
        self.running = True
        events.publisher_register(self.publish)
        self._tasks = [
            asyncio.create_task(self._dispatch_loop(), name="chat-hub-dispatch"),
            asyncio.create_task(self._maintain(), name="chat-hub-maintain"),
        ]

    async def stop(self) -> None:
        """Stop the tasks and leave every group; the hub may start again later."""
        if not self.running:
            return
        self.running = False
        events.publisher_unregister(self.publish)
        tasks, self._tasks = self._tasks, []
        self._stopping.set()
        self._inbox.put_nowait(None)
        await self.link.close(alongside=[*tasks, *self._side_tasks])
        await self.state.close()

    async def drain(self) -> None:
        """Close every socket with 1012 once it has handled the frames it already received.

        Returns when every socket has ended (the hub has stopped with its last one); a socket
        that joins meanwhile (its handshake began before the drain) is closed the same way.
        """
        closing: list = []
        # One turn of the loop first: socket pumps already woken by frames that arrived before
        # the drain move them to their queues, ahead of the close.
        await asyncio.sleep(0)
        while True:
            for socket in self.rooms.sockets():
                if not socket.draining:
                    socket.drain_close()
                    closing.append(socket)
            if not self.running and all(socket.ended for socket in closing):
                return
            await asyncio.sleep(DRAIN_POLL)

    def _side_task(self, coroutine) -> asyncio.Task:
        task = asyncio.create_task(coroutine)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)
        return task

    # --- sockets ----------------------------------------------------------------------------

    async def join(self, socket) -> tuple[list[str], tuple[int, int]] | None:
        """Register a socket in its room: (online usernames, the (seq, rev) it starts after).

        None if the user already has CHAT_MAX_SOCKETS_PER_USER sockets open (nothing done).
        """
        async with self._lifecycle:
            if not self.running:
                await self._start()
            allowed = await self.state.socket_acquire(
                user_id=socket.user_id,
                socket_id=socket.socket_id,
                limit=settings.CHAT_MAX_SOCKETS_PER_USER,
            )
            if not allowed:
                if not self.rooms.rooms:
                    await self.stop()
                return None
            room, created = self.rooms.open(socket.room_id)
        if created:
            await self._room_ready(room)
        else:
            await room.ready.wait()
        room.joining -= 1
        if room.failed:
            # A room without its current seq would replay its whole history: not opened.
            await self.state.socket_release(user_id=socket.user_id, socket_id=socket.socket_id)
            async with self._lifecycle:
                self.rooms.forget_if_empty(room)
                if not self.rooms.rooms:
                    await self.stop()
            raise DatabaseError("The chat room could not be opened; try again later.")
        self.rooms.socket_add(room, socket)
        # From here on the socket gets every event after this position through its queue.
        joined_at = (room.last_seq, room.last_rev)
        online = await presence_enter(
            state=self.state, publish=self.publish, room=room, username=socket.username
        )
        return online, joined_at

    async def _room_ready(self, room: Room) -> None:
        try:
            # Join the group before reading the seq: nothing committed after the read can
            # then be missed.
            await self.link.group_add(events.room_group(room.room_id))
            room.last_seq, room.last_rev = await db(selectors.room_position)(course_id=room.room_id)
        except Exception:
            logger.exception("Chat room %s could not be opened", room.room_id)
            room.failed = True
        finally:
            room.ready.set()

    async def leave(self, socket) -> None:
        """Unregister a socket (idempotent); the hub stops when its last socket has left."""
        room = self.rooms.socket_remove(socket)
        if room is None:
            return
        await self.state.socket_release(user_id=socket.user_id, socket_id=socket.socket_id)
        await presence_exit(
            state=self.state, publish=self.publish, room=room, username=socket.username
        )
        async with self._lifecycle:
            self.rooms.forget_if_empty(room)
            if not self.rooms.rooms:
                await self.stop()

    # --- publishing -------------------------------------------------------------------------

    def publish(self, group: str, event: dict) -> None:
        """Hand an event to the local sockets now and to the layer soon (never blocks)."""
        event = {**event, "origin": self.process_id}
        self._inbox.put_nowait((True, event))
        self.link.send_soon(group, event)

    # --- upkeep -----------------------------------------------------------------------------

    async def _maintain(self) -> None:
        tick = min(settings.CHAT_RECONCILE_INTERVAL, settings.CHAT_HEARTBEAT)
        next_heartbeat = time.monotonic() + settings.CHAT_HEARTBEAT
        next_reconcile = time.monotonic() + settings.CHAT_RECONCILE_INTERVAL
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=tick)
                return
            now = time.monotonic()
            if now >= next_reconcile:
                next_reconcile = now + settings.CHAT_RECONCILE_INTERVAL
                self._inbox.put_nowait((True, {"type": "hub.reconcile"}))
            if now >= next_heartbeat:
                next_heartbeat = now + settings.CHAT_HEARTBEAT
                try:
                    await self._heartbeat()
                except Exception:
                    logger.exception("Chat hub heartbeat failed")

    async def _heartbeat(self) -> None:
        recovered, gone = await self.state.refresh()
        presence_gone_announce(rooms=self.rooms, publish=self.publish, gone=gone)
        if recovered:
            self.state.forget_local_rates()
            self._inbox.put_nowait((True, {"type": "hub.presence"}))
        await self.link.groups_check()

    # --- dispatch to local sockets ------------------------------------------------------------

    async def _dispatch_loop(self) -> None:
        while (item := await self._inbox.get()) is not None:
            local, event = item
            try:
                await self._dispatch(local, event)
            except asyncio.CancelledError:
                raise
            except DatabaseError as error:
                logger.warning("Chat hub could not read the database: %s", error)
            except Exception:
                logger.exception("Chat hub failed on %s", event.get("type"))

    async def _dispatch(self, local: bool, event: dict) -> None:
        # The layer's copy of an event this hub already handed to its sockets.
        if not local and event.get("origin") == self.process_id:
            return
        kind = event.get("type")
        if kind == "hub.reconcile":
            await self.rooms.reconcile()
        elif kind == "hub.gap_grace":
            await self.rooms.gap_grace_over(event)
        elif kind == "hub.recovered":
            await self.rooms.reconcile()
            presence_resync(self.rooms)
            access_recheck_everyone(self.rooms)
        elif kind == "hub.presence":
            presence_resync(self.rooms)
        elif kind == "chat.access":
            access_event_route(rooms=self.rooms, event=event, spawn=self._side_task)
        else:
            await self.rooms.room_event(event)


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def hub_get() -> Hub:
    """The hub of the running event loop (one per server process), created on first use."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    return hub


async def hub_drain() -> None:
    """Drain the running event loop's hub, if it has one (see Hub.drain)."""
    hub = _hubs.get(asyncio.get_running_loop())
    if hub is not None:
        await hub.drain()
