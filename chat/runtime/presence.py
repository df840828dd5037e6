"""Who is online in each room: kept in the shared state, announced to the room's sockets."""

from ..events import Publish, room_group
from .rooms import Room, RoomRegistry
from .shared_state import SharedState


def presence_event(room_id: int, username: str, action: str) -> dict:
    return {"type": "chat.presence", "room": room_id, "user": username, "action": action}


async def presence_enter(
    *, state: SharedState, publish: Publish, room: Room, username: str
) -> list[str]:
    """Count one more local socket of the user in the room; the room's online usernames.

    A person's first socket anywhere is announced to the room.
    """
    room.users[username] += 1
    if room.users[username] == 1:
        came_online = await state.presence_add(room_id=room.room_id, username=username)
        if came_online:
            publish(room_group(room.room_id), presence_event(room.room_id, username, "join"))
    return await state.presence_list(room_id=room.room_id)


async def presence_exit(*, state: SharedState, publish: Publish, room: Room, username: str):
    """Count one local socket of the user less; a person's last socket anywhere is announced."""
    room.users[username] -= 1
    if room.users[username] > 0:
        return
    del room.users[username]
    left = await state.presence_remove(room_id=room.room_id, username=username)
    if left and username not in room.users:
        publish(room_group(room.room_id), presence_event(room.room_id, username, "leave"))


def presence_gone_announce(
    *, rooms: RoomRegistry, publish: Publish, gone: dict[int, list[str]]
) -> None:
    """Announce the departure of users whose last entry expired (their process died)."""
    for room_id, names in gone.items():
        room = rooms.rooms.get(room_id)
        for name in names:
            if room is None or name not in room.users:
                publish(room_group(room_id), presence_event(room_id, name, "leave"))


def presence_resync(rooms: RoomRegistry) -> None:
    """Make every local socket re-send its room's online list (after a Redis outage)."""
    for room in rooms.rooms.values():
        for socket in list(room.sockets):
            socket.hub_put({"type": "chat.presence_resync"})
