"""The per-process room hub: one channel-layer message per room message per server process.

A process joins each room's group once, on a single channel of its own, and hands every event
to its local sockets itself. It numbers nothing: the database does (chat/services.py). The hub
only makes sure each local socket sees every seq of its room once and in order, whatever the
layer did:

- an event whose seq is not the next one makes the hub read the missing seqs from the database;
- every CHAT_RECONCILE_INTERVAL seconds it compares its rooms with the database (one query), so
  messages the layer dropped (over capacity) or never carried (Redis down) still arrive;
- when the layer comes back after an outage it re-joins its groups, catches up from the
  database, re-sends the presence snapshot and re-checks every socket's access.

Events this process publishes reach its own sockets at once and the layer afterwards; the
layer's copy, marked with this hub's origin, is then ignored.
"""

import asyncio
import contextlib
import json
import logging
import time
import uuid
import weakref
from collections import Counter, defaultdict, deque

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import DatabaseError

from .. import selectors
from ..events import CONTROL_GROUP, room_group
from .shared_state import SharedState
from .writer import MessageWriter

logger = logging.getLogger(__name__)

# Events other processes must still get after a layer outage (deletions, mutes, access
# changes), kept for a while; presence and typing are not worth replaying.
REPLAY_ON_RECOVERY = {"chat.deleted", "chat.muted", "chat.access"}
PENDING_MAX = 1000
PENDING_MAX_AGE = 120.0


def db(function):
    """Run ORM work in the loop's thread pool.

    Not in the single thread that thread-sensitive calls share (field notes): sockets must not
    wait for each other's queries.
    """
    return database_sync_to_async(function, thread_sensitive=False)


class Room:
    __slots__ = ("room_id", "consumers", "users", "last_seq", "ready", "failed", "joining")

    def __init__(self, room_id: int):
        self.room_id = room_id
        self.consumers: set = set()
        # Local sockets per username: a person with three tabs is online once.
        self.users: Counter[str] = Counter()
        # The highest seq handed to this room's local sockets.
        self.last_seq = 0
        self.ready = asyncio.Event()
        self.failed = False
        # Sockets between lookup and registration: the room must not be dropped under them.
        self.joining = 0


class Hub:
    """Fan-out, presence and limits for the sockets of one event loop (one server process)."""

    def __init__(self):
        self.process_id = uuid.uuid4().hex[:16]
        self.rooms: dict[int, Room] = {}
        self.by_user: dict[int, set] = defaultdict(set)
        self.layer = None
        self.channel_name: str | None = None
        self.state: SharedState | None = None
        self.running = False
        self.layer_ok = True
        self._inbox: asyncio.Queue = asyncio.Queue()
        self._outbox: asyncio.Queue = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []
        self._stopping = asyncio.Event()
        self._side_tasks: set[asyncio.Task] = set()
        self._lifecycle = asyncio.Lock()
        self._groups_lock = asyncio.Lock()
        self._joined_groups: set[str] = set()
        self._pending: deque[tuple[float, str, dict]] = deque(maxlen=PENDING_MAX)
        self._layer_warned = False
        self.writer = MessageWriter(
            run_in_thread=db,
            rate_allow_many=lambda senders, rate: self.state.rate_allow_many(senders, rate=rate),
        )

    # --- lifecycle --------------------------------------------------------------------------

    async def _start(self) -> None:
        self.layer = get_channel_layer()
        self.state = SharedState(
            url=settings.CHAT_REDIS_URL,
            process_id=self.process_id,
            ttl=settings.CHAT_PRESENCE_TTL,
        )
        self.channel_name = await self.layer.new_channel(prefix="chat-hub")
        self._inbox = asyncio.Queue()
        self._outbox = asyncio.Queue()
        self._stopping = asyncio.Event()
        self.running = True
        self.layer_ok = True
        await self._group_add(CONTROL_GROUP)
        self._tasks = [
            asyncio.create_task(self._read_layer(), name="chat-hub-reader"),
            asyncio.create_task(self._dispatch_loop(), name="chat-hub-dispatch"),
            asyncio.create_task(self._publish_loop(), name="chat-hub-publish"),
            asyncio.create_task(self._maintain(), name="chat-hub-maintain"),
        ]

    async def stop(self) -> None:
        """Stop the tasks and leave every group; the hub may start again later."""
        if not self.running:
            return
        self.running = False
        reader, dispatcher, publisher, maintainer = self._tasks
        self._tasks = []
        # Redis I/O can swallow a cancellation (redis-py and channels-redis, when a reply
        # arrives just as the task is cancelled): each task is asked to stop and finishes its
        # current step; cancelling is the last resort.
        self._stopping.set()
        self._inbox.put_nowait(None)
        # The publisher sends what was published before the last socket left, then stops.
        self._outbox.put_nowait(None)
        await self._stop_reader(reader)
        await self._finish([dispatcher, publisher, maintainer, *self._side_tasks], timeout=2)
        try:
            async with asyncio.timeout(2):
                async with self._groups_lock:
                    for group in list(self._joined_groups):
                        await self.layer.group_discard(group, self.channel_name)
        except Exception as error:  # noqa: BLE001 - the memberships expire on their own
            logger.info("Chat hub left its groups uncleanly: %s", error)
        self._joined_groups.clear()
        await self.state.close()

    async def _stop_reader(self, reader: asyncio.Task) -> None:
        # The reader blocks in the layer's receive: it is woken by a message of its own.
        try:
            await self.layer.send(self.channel_name, {"type": "hub.stop"})
        except Exception as error:  # noqa: BLE001 - the layer is down: cancelled instead
            logger.info("Chat hub reader not told to stop: %s", error)
        await self._finish([reader], timeout=1)

    @staticmethod
    async def _finish(tasks: list[asyncio.Task], *, timeout: float) -> None:
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=0.5)

    # --- sockets ----------------------------------------------------------------------------

    async def join(self, consumer) -> tuple[list[str], int] | None:
        """Register a socket in its room: (online usernames, the seq it starts after).

        None if the user already has CHAT_MAX_SOCKETS_PER_USER sockets open (nothing done).
        """
        room_id = consumer.room_id
        async with self._lifecycle:
            if not self.running:
                await self._start()
            allowed = await self.state.socket_acquire(
                user_id=consumer.user_id,
                socket_id=consumer.socket_id,
                limit=settings.CHAT_MAX_SOCKETS_PER_USER,
            )
            if not allowed:
                if not self.rooms:
                    await self.stop()
                return None
            room = self.rooms.get(room_id)
            created = room is None or room.failed
            if created:
                room = self.rooms[room_id] = Room(room_id)
            room.joining += 1
        if created:
            try:
                # Join the group before reading the seq: nothing committed after the read
                # can then be missed.
                await self._group_add(room_group(room_id))
                room.last_seq = await db(selectors.room_last_seq)(course_id=room_id)
            except Exception:
                logger.exception("Chat room %s could not be opened", room_id)
                room.failed = True
            finally:
                room.ready.set()
        else:
            await room.ready.wait()
        room.joining -= 1
        if room.failed:
            # A room without its current seq would replay its whole history: not opened.
            await self.state.socket_release(user_id=consumer.user_id, socket_id=consumer.socket_id)
            async with self._lifecycle:
                self._forget_if_empty(room)
                if not self.rooms:
                    await self.stop()
            raise DatabaseError("The chat room could not be opened; try again later.")
        room.consumers.add(consumer)
        # From here on the socket gets every event after this seq through its queue.
        joined_at_seq = room.last_seq
        self.by_user[consumer.user_id].add(consumer)
        room.users[consumer.username] += 1
        if room.users[consumer.username] == 1:
            came_online = await self.state.presence_add(room_id=room_id, username=consumer.username)
            if came_online:
                self.publish(room_group(room_id), _presence_event(room_id, consumer, "join"))
        online = await self.state.presence_list(room_id=room_id)
        return online, joined_at_seq

    async def leave(self, consumer) -> None:
        """Unregister a socket (idempotent); the hub stops when its last socket has left."""
        room = self.rooms.get(consumer.room_id)
        if room is None or consumer not in room.consumers:
            return
        room.consumers.discard(consumer)
        await self.state.socket_release(user_id=consumer.user_id, socket_id=consumer.socket_id)
        sockets = self.by_user.get(consumer.user_id)
        if sockets is not None:
            sockets.discard(consumer)
            if not sockets:
                del self.by_user[consumer.user_id]
        room.users[consumer.username] -= 1
        if room.users[consumer.username] <= 0:
            del room.users[consumer.username]
            left = await self.state.presence_remove(
                room_id=room.room_id, username=consumer.username
            )
            if left and consumer.username not in room.users:
                self.publish(
                    room_group(room.room_id), _presence_event(room.room_id, consumer, "leave")
                )
        async with self._lifecycle:
            self._forget_if_empty(room)
            if not self.rooms:
                await self.stop()

    def _forget_if_empty(self, room: Room) -> None:
        if not room.consumers and not room.joining and self.rooms.get(room.room_id) is room:
            del self.rooms[room.room_id]

    # --- publishing -------------------------------------------------------------------------

    def publish(self, group: str, event: dict) -> None:
        """Hand an event to the local sockets now and to the layer soon (never blocks)."""
        event = {**event, "origin": self.process_id}
        self._inbox.put_nowait((True, event))
        self._outbox.put_nowait((group, event))

    async def _publish_loop(self) -> None:
        while (item := await self._outbox.get()) is not None:
            await self._send_to_layer(*item)

    async def _send_to_layer(self, group: str, event: dict) -> None:
        try:
            await self.layer.group_send(group, event)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - the database stays the truth
            self._layer_failed(error)
            if event["type"] in REPLAY_ON_RECOVERY:
                self._pending.append((time.monotonic(), group, event))

    # --- the layer --------------------------------------------------------------------------

    def _layer_failed(self, error: Exception) -> None:
        self.layer_ok = False
        if not self._layer_warned:
            self._layer_warned = True
            logger.warning("Chat hub lost the channel layer: %s", error)

    async def _group_add(self, group: str) -> bool:
        async with self._groups_lock:
            self._joined_groups.add(group)
            try:
                await self.layer.group_add(group, self.channel_name)
                return True
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - retried by the maintenance loop
                self._layer_failed(error)
                return False

    async def _groups_refresh(self) -> bool:
        """(Re)join every group this hub needs and leave those of empty rooms."""
        async with self._groups_lock:
            wanted = {CONTROL_GROUP, *(room_group(room_id) for room_id in self.rooms)}
            for group in self._joined_groups - wanted:
                await self.layer.group_discard(group, self.channel_name)
            for group in wanted:
                await self.layer.group_add(group, self.channel_name)
            self._joined_groups = wanted
        return True

    async def _read_layer(self) -> None:
        while not self._stopping.is_set():
            try:
                message = await self.layer.receive(self.channel_name)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001
                self._layer_failed(error)
                await self._layer_reconnect()
                continue
            if message.get("type") == "hub.stop":
                return
            self._inbox.put_nowait((False, message))

    async def _layer_reconnect(self) -> None:
        delay = 0.1
        while not self._stopping.is_set():
            await asyncio.sleep(delay)
            try:
                await self._groups_refresh()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                delay = min(delay * 2, 2.0)
                continue
            break
        if self._stopping.is_set():
            return
        self.layer_ok = True
        self._layer_warned = False
        logger.warning("Chat hub has the channel layer again; catching up from the database")
        self._inbox.put_nowait((True, {"type": "hub.recovered"}))
        now = time.monotonic()
        pending, self._pending = list(self._pending), deque(maxlen=PENDING_MAX)
        for published, group, event in pending:
            if now - published < PENDING_MAX_AGE:
                self._outbox.put_nowait((group, event))

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
        for room_id, names in gone.items():
            room = self.rooms.get(room_id)
            for name in names:
                if room is None or name not in room.users:
                    event = {"type": "chat.presence", "room": room_id, "user": name}
                    self.publish(room_group(room_id), {**event, "action": "leave"})
        if recovered:
            self.state.forget_local_rates()
            self._inbox.put_nowait((True, {"type": "hub.presence"}))
        if self.layer_ok:
            try:
                await self._groups_refresh()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - the reader notices and reconnects
                self._layer_failed(error)

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
            await self._reconcile()
            return
        if kind == "hub.recovered":
            await self._reconcile()
            self._presence_resync()
            for consumers in list(self.by_user.values()):
                for consumer in list(consumers):
                    consumer.hub_put({"type": "chat.recheck", "close": None})
            return
        if kind == "hub.presence":
            self._presence_resync()
            return
        if kind == "chat.access":
            self._access(event)
            return
        room = self.rooms.get(event.get("room"))
        if room is None or not room.ready.is_set():
            return
        if kind == "chat.messages":
            for message in event["messages"]:
                await self._message(room, message["seq"], message["frame"])
        elif kind == "chat.typing":
            self._fan_out_to_others(room, event["user"], {"type": "typing", "user": event["user"]})
        elif kind == "chat.deleted":
            frame = {"type": "message.deleted", "id": event["id"], "seq": event["seq"]}
            self._fan_out(room, json.dumps(frame))
        elif kind == "chat.muted":
            self._fan_out(room, json.dumps(event["frame"]))
        elif kind == "chat.presence":
            # A person's own sockets know they are online: the snapshot already says so.
            frame = {"type": f"presence.{event['action']}", "user": event["user"]}
            self._fan_out_to_others(room, event["user"], frame)

    def _fan_out_to_others(self, room: Room, username: str, frame: dict) -> None:
        item = {"type": "chat.frame", "seq": None, "text": json.dumps(frame)}
        for consumer in list(room.consumers):
            if consumer.username != username:
                consumer.hub_put(item)

    def _fan_out(self, room: Room, text: str) -> None:
        item = {"type": "chat.frame", "seq": None, "text": text}
        for consumer in list(room.consumers):
            consumer.hub_put(item)

    async def _message(self, room: Room, seq: int, frame: dict) -> None:
        if seq <= room.last_seq:
            return
        if seq > room.last_seq + 1:
            await self._catch_up(room, upto=seq - 1)
        if seq > room.last_seq:
            room.last_seq = seq
            await self._deliver(room, seq, json.dumps(frame))

    @staticmethod
    async def _deliver(room: Room, seq: int, text: str) -> None:
        # Straight to each socket, no task switch per recipient: the hot path of a busy room.
        for consumer in list(room.consumers):
            await consumer.deliver(seq, text)

    async def _catch_up(self, room: Room, upto: int | None) -> None:
        """Hand the room's sockets every stored seq above what they got (up to `upto`)."""
        while True:
            batch = await db(selectors.message_list_between)(
                course_id=room.room_id, after=room.last_seq, upto=upto
            )
            for message in batch:
                if message.seq > room.last_seq:
                    room.last_seq = message.seq
                    frame = selectors.message_frame(message)
                    await self._deliver(room, message.seq, json.dumps(frame))
            if len(batch) < selectors.REPLAY_BATCH or (upto is not None and room.last_seq >= upto):
                break

    async def _reconcile(self) -> None:
        rooms = [room for room in self.rooms.values() if room.ready.is_set()]
        if not rooms:
            return
        latest = await db(selectors.room_last_seqs)(course_ids=[room.room_id for room in rooms])
        for room in rooms:
            if latest.get(room.room_id, 0) > room.last_seq and self.rooms.get(room.room_id):
                logger.info("Chat room %s caught up from the database", room.room_id)
                await self._catch_up(room, upto=latest[room.room_id])

    def _presence_resync(self) -> None:
        for room in self.rooms.values():
            for consumer in list(room.consumers):
                consumer.hub_put({"type": "chat.presence_resync"})

    def _access(self, event: dict) -> None:
        """Ask the matching local sockets to re-check (or simply end) their access."""
        user_id, room_id = event.get("user"), event.get("room")
        if user_id is None and room_id is not None:
            room = self.rooms.get(room_id)
            if room is not None:
                # Its own task: the database query must not hold up the room's messages.
                task = asyncio.create_task(self._room_recheck(room))
                self._side_tasks.add(task)
                task.add_done_callback(self._side_tasks.discard)
            return
        for consumer in list(self.by_user.get(user_id, ())):
            if room_id is not None and consumer.room_id != room_id:
                continue
            session_key = event.get("session")
            if session_key is not None and consumer.session_key != session_key:
                continue
            consumer.hub_put({"type": "chat.recheck", "close": event.get("close")})

    async def _room_recheck(self, room: Room) -> None:
        consumers = list(room.consumers)
        try:
            refusals = await db(selectors.room_access_refusals)(
                course_id=room.room_id, user_ids={consumer.user_id for consumer in consumers}
            )
        except DatabaseError as error:
            logger.warning("Chat room %s not re-checked: %s", room.room_id, error)
            return
        for consumer in consumers:
            if consumer.user_id in refusals:
                consumer.hub_put({"type": "chat.close", "code": refusals[consumer.user_id]})


def _presence_event(room_id: int, consumer, action: str) -> dict:
    return {"type": "chat.presence", "room": room_id, "user": consumer.username, "action": action}


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def hub_get() -> Hub:
    """The hub of the running event loop (one per server process), created on first use."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    return hub


def hub_running() -> Hub | None:
    """The running loop's hub if it has sockets to serve, else None."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    hub = _hubs.get(loop)
    return hub if hub is not None and hub.running else None
