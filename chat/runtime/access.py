"""Access re-checks: sockets whose user, session, token, enrollment or course changed.

Services publish `chat.access` events (chat/services.py access_changed); each hub asks the
matching local sockets to re-check, or simply closes them when the event says how.
"""

import asyncio
import logging
from collections.abc import Callable, Coroutine

from django.db import DatabaseError

from .. import selectors
from .db import db
from .rooms import Room, RoomRegistry

logger = logging.getLogger(__name__)


def access_event_route(
    *, rooms: RoomRegistry, event: dict, spawn: Callable[[Coroutine], asyncio.Task]
) -> None:
    """Ask the matching local sockets to re-check (or simply end) their access."""
    user_id, room_id = event.get("user"), event.get("room")
    if user_id is None and room_id is not None:
        room = rooms.rooms.get(room_id)
        if room is not None:
            # Its own task: the database query must not hold up the room's messages.
            spawn(room_recheck(room))
        return
    for socket in list(rooms.by_user.get(user_id, ())):
        if room_id is not None and socket.room_id != room_id:
            continue
        session_key = event.get("session")
        if session_key is not None and socket.session_key != session_key:
            continue
        socket.hub_put({"type": "chat.recheck", "close": event.get("close")})


def access_recheck_everyone(rooms: RoomRegistry) -> None:
    """Make every local socket re-check its access (after events may have been lost)."""
    for socket in rooms.sockets():
        socket.hub_put({"type": "chat.recheck", "close": None})


async def room_recheck(room: Room) -> None:
    """Close the room's local sockets whose user may no longer be there."""
    sockets = list(room.sockets)
    try:
        refusals = await db(selectors.room_access_refusals)(
            course_id=room.room_id, user_ids={socket.user_id for socket in sockets}
        )
    except DatabaseError as error:
        logger.warning("Chat room %s not re-checked: %s", room.room_id, error)
        return
    for socket in sockets:
        if socket.user_id in refusals:
            socket.hub_put({"type": "chat.close", "code": refusals[socket.user_id]})


async def socket_refusal(socket) -> int | None:
    """The close code a socket now deserves, or None if it may stay (or the database is down)."""
    try:
        return await db(selectors.chat_socket_refusal)(
            user_id=socket.user_id,
            course_id=socket.room_id,
            session_key=socket.session_key,
            token_key=socket.token_key,
        )
    except DatabaseError as error:
        logger.warning("Chat socket not re-checked: %s", error)
        return None
