"""The hub's rooms: which local sockets are in which room, and each room's ordered delivery."""

import asyncio
import json
import logging
from collections import Counter, defaultdict
from collections.abc import Callable

from .. import selectors
from .db import db
from .seq import SeqStream, fill_read

logger = logging.getLogger(__name__)


class Room(SeqStream):
    __slots__ = (
        "room_id", "sockets", "users", "last_seq", "last_rev", "filling", "ready", "failed",
        "joining", "held", "grace", "fill_ahead", "grace_post",
    )  # fmt: skip

    def __init__(self, room_id: int, grace_post: Callable[[dict], None] | None = None):
        self.room_id = room_id
        # How the end of a grace reaches the hub's dispatch loop (where the room's events are
        # handled one at a time); without a hub, a task of its own.
        self.grace_post = grace_post
        self.held = None
        self.grace = None
        self.fill_ahead = None
        self.sockets: set = set()
        # Local sockets per username: a person with three tabs is online once.
        self.users: Counter[str] = Counter()
        # The highest seq and rev handed to this room's local sockets.
        self.last_seq = 0
        self.last_rev = 0
        self.filling = 0
        self.ready = asyncio.Event()
        self.failed = False
        # Sockets between lookup and registration: the room must not be dropped under them.
        self.joining = 0

    async def seq_emit(self, seq: int, rev: int, text: str, new: bool) -> None:
        # Straight to each socket, no task switch per recipient: the hot path of a busy room.
        for socket in list(self.sockets):
            await socket.deliver(seq, rev, text, new)

    def seq_grace_over(self) -> None:
        if self.grace_post is not None:
            self.grace_post({"type": "hub.gap_grace", "room": self.room_id})
        else:
            asyncio.get_running_loop().create_task(self.gap_fill())

    async def seq_fill(self, **kwargs) -> None:
        """Read what the room missed once, and hand it to every socket that was where the room
        was; the others (and all, after a long outage) fill on their own."""
        start = (self.last_seq, self.last_rev)
        fill = await fill_read(room_id=self.room_id, last_seq=start[0], last_rev=start[1])
        if fill is None:
            self.last_seq, self.last_rev = await db(selectors.room_position)(course_id=self.room_id)
            for socket in list(self.sockets):
                socket.hub_put({"type": "chat.gap_fill"})
            return
        self.last_seq, self.last_rev = fill.last_seq, fill.last_rev
        self._ahead_note(fill.ahead)
        for socket in list(self.sockets):
            await socket.deliver_fill(start, fill)

    def frame_fan_out(self, frame: dict, *, skip_username: str | None = None) -> None:
        """Queue a frame without a seq for every local socket (but those of `skip_username`)."""
        item = {"type": "chat.frame", "seq": None, "text": json.dumps(frame)}
        for socket in list(self.sockets):
            if socket.username != skip_username:
                socket.hub_put(item)


class RoomRegistry:
    """The rooms of one hub and their local sockets, also by user."""

    def __init__(self, grace_post: Callable[[dict], None] | None = None):
        self.grace_post = grace_post
        self.rooms: dict[int, Room] = {}
        self.by_user: dict[int, set] = defaultdict(set)

    def open(self, room_id: int) -> tuple[Room, bool]:
        """The room a socket is joining, and whether it is new (the caller then readies it)."""
        room = self.rooms.get(room_id)
        created = room is None or room.failed
        if created:
            room = self.rooms[room_id] = Room(room_id, self.grace_post)
        room.joining += 1
        return room, created

    def socket_add(self, room: Room, socket) -> None:
        room.sockets.add(socket)
        self.by_user[socket.user_id].add(socket)

    def socket_remove(self, socket) -> Room | None:
        """Unregister a socket; its room, or None if it was not registered."""
        room = self.rooms.get(socket.room_id)
        if room is None or socket not in room.sockets:
            return None
        room.sockets.discard(socket)
        sockets = self.by_user.get(socket.user_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self.by_user[socket.user_id]
        return room

    def forget_if_empty(self, room: Room) -> None:
        if not room.sockets and not room.joining and self.rooms.get(room.room_id) is room:
            del self.rooms[room.room_id]

    def sockets(self) -> list:
        return [socket for sockets in self.by_user.values() for socket in sockets]

    async def room_event(self, event: dict) -> None:
        """Hand a room's event to its local sockets: messages in seq order, the rest as is."""
        room = self.rooms.get(event.get("room"))
        if room is None or not room.ready.is_set():
            return
        kind = event.get("type")
        if kind == "chat.messages":
            for message in event["messages"]:
                text = json.dumps(message["frame"])
                await room.seq_send(message["seq"], message["rev"], text, True)
            for change in event["updates"]:
                text = json.dumps(change["frame"])
                await room.seq_send(change["seq"], change["rev"], text, False)
        elif kind in ("chat.updated", "chat.deleted"):
            await room.seq_send(event["seq"], event["rev"], json.dumps(event["frame"]), False)
        elif kind == "chat.typing":
            frame = {"type": "typing", "user": event["user"]}
            room.frame_fan_out(frame, skip_username=event["user"])
        elif kind in ("chat.muted", "chat.unmuted"):
            room.frame_fan_out(event["frame"])
        elif kind == "chat.presence":
            # A person's own sockets know they are online: the snapshot already says so.
            frame = {"type": f"presence.{event['action']}", "user": event["user"]}
            room.frame_fan_out(frame, skip_username=event["user"])

    async def gap_grace_over(self, event: dict) -> None:
        """A room's held items waited their grace: fill its gap, unless it closed meanwhile."""
        room = self.rooms.get(event["room"])
        if room is not None and room.held and room.ready.is_set():
            await room.gap_fill()

    async def reconcile(self) -> None:
        """Compare every ready room with the database (one query) and fill what it missed."""
        rooms = [room for room in self.rooms.values() if room.ready.is_set()]
        if not rooms:
            return
        latest = await db(selectors.room_positions)(course_ids=[room.room_id for room in rooms])
        for room in rooms:
            _, last_rev = latest.get(room.room_id, (0, 0))
            if last_rev > room.last_rev and self.rooms.get(room.room_id):
                logger.info("Chat room %s caught up from the database", room.room_id)
                await room.gap_fill()
