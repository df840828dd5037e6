"""A room's messages and their changes handed on once each and in order, gaps filled from the
database.

The runtime's one gap filler: a hub's room (chat/runtime/rooms.py) and each socket
(chat/runtime/socket.py) are both such streams. A stream's position is (last_seq, last_rev):
it has handed on every message up to last_seq and every change up to last_rev. Live items come
in rev order (every change, a creation included, takes the room's next rev); a new message
also takes the next seq. A fill reads the database instead: first, in rev order, the current
state of each message up to last_seq changed after last_rev (`message.updated` frames), then
the messages after last_seq in seq order, as they are now.
"""

import json
from dataclasses import dataclass

from .. import selectors
from .db import db


@dataclass(frozen=True)
class Fill:
    """What a fill read: the frames to hand on, and the position they lead to."""

    texts: list[str]
    last_seq: int
    last_rev: int


class SeqStream:
    """Mixin for an object with `room_id`, `last_seq`, `last_rev`, `filling` (fills under way)
    and `seq_emit`.

    Every sender of frames checks and moves the position before handing a frame on, so a fill
    running meanwhile skips what was handed on elsewhere.
    """

    __slots__ = ()

    async def seq_emit(self, seq: int, rev: int, text: str, new: bool) -> None:
        """Hand on one frame (the position already moved past it)."""
        raise NotImplementedError

    def seq_stopped(self) -> bool:
        """True once nothing more should be handed on (a closed socket)."""
        return False

    def seq_accept(self, seq: int, rev: int, new: bool) -> bool | None:
        """Move the position for a live item: True to hand it on, False if it was handed on
        (or a fill covered it), None when a change before it is missing (fill first)."""
        if rev <= self.last_rev:
            return False
        if rev > self.last_rev + 1 or (new and seq > self.last_seq + 1):
            return None
        self.last_rev = rev
        if new:
            if seq <= self.last_seq:
                # A fill already handed on the message, in its current state.
                return False
            self.last_seq = seq
        return True

    async def seq_send(self, seq: int, rev: int, text: str, new: bool) -> None:
        """Hand on a live item unless already handed on; a gap before it is filled first (the
        fill covers the item too: it was committed before it was published)."""
        accepted = self.seq_accept(seq, rev, new)
        if accepted is None:
            await self.gap_fill()
            accepted = self.seq_accept(seq, rev, new)
        if accepted:
            await self.seq_emit(seq, rev, text, new)

    async def gap_fill(self, *, updates: bool = True, newest: tuple[int, int] | None = None):
        """Hand on what the database has beyond the position (see the module's docstring),
        streaming; without `updates`, only the messages after last_seq.

        `newest`: the room's (last_seq, last_rev) read just before, if the caller has it.
        """
        self.filling += 1
        try:
            await self._fill(updates=updates, newest=newest)
        finally:
            self.filling -= 1

    async def _fill(self, *, updates: bool, newest: tuple[int, int] | None) -> None:
        if newest is None:
            newest = await db(selectors.room_position)(course_id=self.room_id)
        # Read before the frames: every change up to it is in what follows.
        newest_rev = newest[1]
        if updates:
            after_rev = self.last_rev
            while True:
                batch = await db(selectors.message_list_changed)(
                    course_id=self.room_id, upto_seq=self.last_seq, after_rev=after_rev
                )
                for message in batch:
                    after_rev = message.rev
                    text = json.dumps(selectors.message_updated_frame(message))
                    await self.seq_emit(message.seq, message.rev, text, False)
                if self.seq_stopped():
                    return
                if len(batch) < selectors.REPLAY_BATCH:
                    break
        while True:
            batch = await db(selectors.message_list_between)(
                course_id=self.room_id, after=self.last_seq
            )
            for message in batch:
                if message.seq > self.last_seq:
                    self.last_seq = message.seq
                    text = json.dumps(selectors.message_frame(message))
                    await self.seq_emit(message.seq, message.rev, text, True)
            if self.seq_stopped():
                return
            if len(batch) < selectors.REPLAY_BATCH:
                break
        self.last_rev = max(self.last_rev, newest_rev)


async def fill_read(*, room_id: int, last_seq: int, last_rev: int) -> Fill | None:
    """A fill from the position as one list of frames (None if over REPLAY_BATCH rows: the
    caller then lets each reader fill on its own)."""
    newest = await db(selectors.room_position)(course_id=room_id)
    updated = await db(selectors.message_list_changed)(
        course_id=room_id, upto_seq=last_seq, after_rev=last_rev
    )
    new = await db(selectors.message_list_between)(course_id=room_id, after=last_seq)
    if len(updated) >= selectors.REPLAY_BATCH or len(new) >= selectors.REPLAY_BATCH:
        return None
    texts = [json.dumps(selectors.message_updated_frame(message)) for message in updated]
    texts += [json.dumps(selectors.message_frame(message)) for message in new]
    return Fill(
        texts=texts,
        last_seq=new[-1].seq if new else last_seq,
        last_rev=max(last_rev, newest[1]),
    )
