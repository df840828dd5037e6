"""The hub's link to the channel layer: one channel, its groups, sending, and reconnects.

The link survives a layer outage: it keeps reading, re-joins its groups when the layer answers
again, tells the hub (which then catches up from the database) and re-sends the events other
processes must still get.
"""

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable

from channels.layers import get_channel_layer

from ..events import CONTROL_GROUP

logger = logging.getLogger(__name__)

# Events other processes must still get after a layer outage (deletions, mutes, access
# changes), kept for a while; presence and typing are not worth replaying.
REPLAY_ON_RECOVERY = {"chat.deleted", "chat.muted", "chat.unmuted", "chat.access"}
PENDING_MAX = 1000
PENDING_MAX_AGE = 120.0


async def tasks_finish(tasks: list[asyncio.Task], *, timeout: float) -> None:
    """Wait for the tasks to end by themselves; cancel those still running after `timeout`."""
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=0.5)


class LayerLink:
    def __init__(
        self,
        *,
        receive: Callable[[bool, dict], None],
        room_groups: Callable[[], set[str]],
    ):
        # receive(local, event): hands the hub what the layer brought (local False) and the
        # link's own news (local True).
        self._receive = receive
        # The groups of the hub's rooms, besides the control group.
        self._room_groups = room_groups
        self.layer = None
        self.channel_name: str | None = None
        self.ok = True
        self._outbox: asyncio.Queue = asyncio.Queue()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._groups_lock = asyncio.Lock()
        self._joined_groups: set[str] = set()
        self._pending: deque[tuple[float, str, dict]] = deque(maxlen=PENDING_MAX)
        self._warned = False

    async def open(self) -> None:
        self.layer = get_channel_layer()
        self.channel_name = await self.layer.new_channel(prefix="chat-hub")
        self._outbox = asyncio.Queue()
        self._stopping = asyncio.Event()
        self.ok = True
        await self.group_add(CONTROL_GROUP)
        self._tasks = [
            asyncio.create_task(self._read(), name="chat-hub-reader"),
            asyncio.create_task(self._send_loop(), name="chat-hub-publish"),
        ]

    async def close(self, *, alongside: list[asyncio.Task]) -> None:
        """Stop reading, send what was published before, leave every group.

        `alongside`: the hub's own tasks, given the same time to finish.
        """
        reader, sender = self._tasks
        self._tasks = []
        # Redis I/O can swallow a cancellation (redis-py and channels-redis, when a reply
        # arrives just as the task is cancelled): each task is asked to stop and finishes its
        # current step; cancelling is the last resort.
        self._stopping.set()
        # The sender sends what was published before the last socket left, then stops.
        self._outbox.put_nowait(None)
        await self._stop_reader(reader)
        await tasks_finish([sender, *alongside], timeout=2)
        try:
            async with asyncio.timeout(2):
                async with self._groups_lock:
                    for group in list(self._joined_groups):
                        await self.layer.group_discard(group, self.channel_name)
        except Exception as error:  # noqa: BLE001 - the memberships expire on their own
            logger.info("Chat hub left its groups uncleanly: %s", error)
        self._joined_groups.clear()

    async def _stop_reader(self, reader: asyncio.Task) -> None:
        # The reader blocks in the layer's receive: it is woken by a message of its own.
        try:
            await self.layer.send(self.channel_name, {"type": "hub.stop"})
        except Exception as error:  # noqa: BLE001 - the layer is down: cancelled instead
            logger.info("Chat hub reader not told to stop: %s", error)
        await tasks_finish([reader], timeout=1)

    # --- sending ----------------------------------------------------------------------------

    def send_soon(self, group: str, event: dict) -> None:
        """Queue an event for the group (never blocks)."""
        self._outbox.put_nowait((group, event))

    async def _send_loop(self) -> None:
        while (item := await self._outbox.get()) is not None:
            await self._send(*item)

    async def _send(self, group: str, event: dict) -> None:
        try:
            await self.layer.group_send(group, event)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - the database stays the truth
            self._failed(error)
            if event["type"] in REPLAY_ON_RECOVERY:
                self._pending.append((time.monotonic(), group, event))

    # --- groups -----------------------------------------------------------------------------

    def _failed(self, error: Exception) -> None:
        self.ok = False
        if not self._warned:
            self._warned = True
            logger.warning("Chat hub lost the channel layer: %s", error)

    async def group_add(self, group: str) -> bool:
        async with self._groups_lock:
            self._joined_groups.add(group)
            try:
                await self.layer.group_add(group, self.channel_name)
                return True
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - retried by the maintenance loop
                self._failed(error)
                return False

    async def _groups_refresh(self) -> None:
        """(Re)join every group the hub needs and leave those of empty rooms."""
        async with self._groups_lock:
            wanted = {CONTROL_GROUP, *self._room_groups()}
            for group in self._joined_groups - wanted:
                await self.layer.group_discard(group, self.channel_name)
            for group in wanted:
                await self.layer.group_add(group, self.channel_name)
            self._joined_groups = wanted

    async def groups_check(self) -> None:
        """Renew the group memberships (they expire) while the layer is up."""
        if not self.ok:
            return
        try:
            await self._groups_refresh()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - the reader notices and reconnects
            self._failed(error)

    # --- receiving --------------------------------------------------------------------------

    async def _read(self) -> None:
        while not self._stopping.is_set():
            try:
                message = await self.layer.receive(self.channel_name)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001
                self._failed(error)
                await self._reconnect()
                continue
            if message.get("type") == "hub.stop":
                return
            self._receive(False, message)

    async def _reconnect(self) -> None:
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
        self.ok = True
        self._warned = False
        logger.warning("Chat hub has the channel layer again; catching up from the database")
        self._receive(True, {"type": "hub.recovered"})
        now = time.monotonic()
        pending, self._pending = list(self._pending), deque(maxlen=PENDING_MAX)
        for published, group, event in pending:
            if now - published < PENDING_MAX_AGE:
                self._outbox.put_nowait((group, event))
