"""The one place chat events leave a process: the channel layer, through the local hub if any.

Services call `event_publish_on_commit`; nothing else sends on the channel layer except the hub
itself (chat/runtime/), so every broadcast can be found from here. The hub is not imported: while
it runs it registers itself as its event loop's publisher.
"""

import asyncio
import logging
import weakref
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

CONTROL_GROUP = "chat.control"


def room_group(room_id: int) -> str:
    return f"chat.room.{room_id}"


Publish = Callable[[str, dict], None]

# Per event loop, the running hub's publish(group, event), which never blocks.
_local_publishers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Publish]" = (
    weakref.WeakKeyDictionary()
)


def publisher_register(publish: Publish) -> None:
    """Route the running event loop's events through `publish` (a hub, while it runs)."""
    _local_publishers[asyncio.get_running_loop()] = publish


def publisher_unregister(publish: Publish) -> None:
    """Undo `publisher_register`: the loop's events go straight to the layer again."""
    loop = asyncio.get_running_loop()
    if _local_publishers.get(loop) == publish:
        del _local_publishers[loop]


async def event_publish(group: str, event: dict) -> None:
    """Publish an event to a room group or the control group; never raises.

    A process with a running hub hands the event to it: its own sockets get it at once (even
    with Redis down) and the hub forwards it to the layer. Elsewhere (a WSGI worker, a
    management command) the event goes straight to the layer.
    """
    publish = _local_publishers.get(asyncio.get_running_loop())
    if publish is not None:
        publish(group, event)
        return
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(group, event)
    except Exception as error:  # noqa: BLE001 - the database stays the truth; clients catch up
        logger.warning("Chat event %s to %s not published: %s", event.get("type"), group, error)


async def _events_publish(events: list[tuple[str, dict]]) -> None:
    for group, event in events:
        await event_publish(group, event)


def events_publish_now(events: list[tuple[str, dict]]) -> None:
    """Synchronous `event_publish` of (group, event) pairs, in order, in one hop to the loop."""
    try:
        async_to_sync(_events_publish)(events)
    except Exception:
        logger.exception("Chat events %s not published", [event["type"] for _, event in events])


def events_publish_on_commit(events: list[tuple[str, dict]]) -> None:
    """Publish (group, event) pairs once the current transaction commits (at once in autocommit)."""
    transaction.on_commit(lambda: events_publish_now(events), robust=True)


def event_publish_on_commit(group: str, event: dict) -> None:
    """Publish the event once the current transaction commits (at once in autocommit)."""
    events_publish_on_commit([(group, event)])
