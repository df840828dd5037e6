"""A room's messages and their changes handed on once each and in order, gaps filled from the
database.

The runtime's one gap filler: a hub's room (chat/runtime/rooms.py) and each socket
(chat/runtime/socket.py) are both such streams. A stream's position is (last_seq, last_rev):
it has handed on every message up to last_seq and every change up to last_rev. Live items come
in rev order (every change, a creation included, takes the room's next rev); a new message
also takes the next seq. A fill reads the database instead: first, in rev order, the current
state of each message up to last_seq changed after last_rev (`message.updated` frames), then
the messages after last_seq in seq order, as they are now.

A fill reads the room's position first and bounds every query by it: a change committed while
it runs is left to the live stream (sent once, in its turn). A new message changed meanwhile
can only be read in its newer state; the stream notes it (`fill_ahead`) and drops the live
changes that state already holds.

Live items can arrive out of rev order: several transactions commit (the message writer's
batches, each edit, reaction or pin) and publish after their commits, from different threads.
An item after a missing rev is held for CHAT_GAP_GRACE seconds; the database is read only if
the missing one has not arrived by then (a change the channel layer dropped).
"""

import asyncio
import json
from dataclasses import dataclass, field

from django.conf import settings

from .. import selectors
from .db import db


@dataclass(frozen=True)
class Fill:
    """What a fill read: the frames to hand on, and the position they lead to."""

    texts: list[str]
    last_seq: int
    last_rev: int
    # seq -> rev of the messages read in a state newer than last_rev (see `fill_ahead`).
    ahead: dict[int, int] = field(default_factory=dict)


class SeqStream:
    """Mixin for an object with `room_id`, `last_seq`, `last_rev`, `filling` (fills under way),
    `seq_emit` and `seq_grace_over`.

    Every sender of frames checks and moves the position before handing a frame on, so a fill
    running meanwhile skips what was handed on elsewhere. While a fill runs, live items wait
    in `held` and follow it.
    """

    __slots__ = ()

    # Class defaults, set on the instance only when they change (a slotted subclass sets them
    # in its __init__). Live items after a missing rev (or during a fill), by rev:
    held: dict[int, tuple[int, str, bool]] | None = None
    # The timer of the held items' grace.
    grace: asyncio.TimerHandle | None = None
    # seq -> rev of the messages a fill sent in a state newer than its position.
    fill_ahead: dict[int, int] | None = None

    async def seq_emit(self, seq: int, rev: int, text: str, new: bool) -> None:
        """Hand on one frame (the position already moved past it)."""
        raise NotImplementedError

    def seq_stopped(self) -> bool:
        """True once nothing more should be handed on (a closed socket)."""
        return False

    def seq_grace_over(self) -> None:
        """Called when held items have waited CHAT_GAP_GRACE seconds: have `gap_fill` run in
        the stream's own turn (the hub's dispatch loop, the socket's queue)."""
        raise NotImplementedError

    def seq_accept(self, seq: int, rev: int, new: bool) -> bool | None:
        """Move the position for a live item: True to hand it on, False if it was handed on
        (or a fill covered it), None when a change before it is missing (fill first)."""
        if rev <= self.last_rev:
            return False
        if rev > self.last_rev + 1 or (new and seq > self.last_seq + 1):
            return None
        self.last_rev = rev
        if self.fill_ahead:
            # A fill sent this message in a state that already holds this change.
            covered = not new and self.fill_ahead.get(seq, 0) >= rev
            self.fill_ahead = {s: r for s, r in self.fill_ahead.items() if r > rev} or None
            if covered:
                return False
        if new:
            if seq <= self.last_seq:
                # A fill already handed on the message, in its current state.
                return False
            self.last_seq = seq
        return True

    async def seq_send(self, seq: int, rev: int, text: str, new: bool) -> None:
        """Hand on a live item unless already handed on; an item after a missing rev (or
        during a fill) is held until the missing one arrives, or the grace is over and a fill
        covers it (it was committed before it was published)."""
        accepted = None if self.filling else self.seq_accept(seq, rev, new)
        if accepted is None:
            if rev > self.last_rev:
                self._seq_hold(seq, rev, text, new)
            return
        if accepted:
            await self.seq_emit(seq, rev, text, new)
        if self.held:
            await self.seq_release()

    def _seq_hold(self, seq: int, rev: int, text: str, new: bool) -> None:
        if self.held is None:
            self.held = {}
        self.held[rev] = (seq, text, new)
        self._grace_start()

    def _grace_start(self) -> None:
        if self.grace is None and not self.filling:
            self.grace = asyncio.get_running_loop().call_later(
                settings.CHAT_GAP_GRACE, self._grace_over
            )

    def _grace_over(self) -> None:
        self.grace = None
        if self.held:
            self.seq_grace_over()

    async def seq_release(self) -> None:
        """Hand on the held items that now follow the position, in rev order; the grace runs
        on for the others."""
        while self.held and not self.filling:
            rev = min(self.held)
            if rev > self.last_rev + 1:
                break
            seq, text, new = self.held[rev]
            accepted = self.seq_accept(seq, rev, new)
            if accepted is None:
                break
            del self.held[rev]
            if accepted:
                await self.seq_emit(seq, rev, text, new)
        if not self.held:
            self.held = None
            if self.grace is not None:
                self.grace.cancel()
                self.grace = None
        else:
            self._grace_start()

    async def gap_fill(self, **kwargs) -> None:
        """Hand on what the database has beyond the position (see `seq_fill`), then the held
        items it did not cover."""
        if self.grace is not None:
            self.grace.cancel()
            self.grace = None
        self.filling += 1
        try:
            await self.seq_fill(**kwargs)
        finally:
            self.filling -= 1
        if self.held:
            await self.seq_release()

    async def seq_fill(self, *, updates: bool = True, newest: tuple[int, int] | None = None):
        """Hand on what the database has beyond the position (see the module's docstring),
        streaming; without `updates`, only the messages after last_seq.

        `newest`: the room's (last_seq, last_rev) read just before, if the caller has it.
        """
        await self._fill(updates=updates, newest=newest)

    async def _fill(self, *, updates: bool, newest: tuple[int, int] | None) -> None:
        if newest is None:
            newest = await db(selectors.room_position)(course_id=self.room_id)
        # Read before the frames, and every query bounded by it: what is committed after it
        # comes live.
        newest_seq, newest_rev = newest
        if updates:
            after_rev = self.last_rev
            while True:
                batch = await db(selectors.message_list_changed)(
                    course_id=self.room_id,
                    upto_seq=self.last_seq,
                    after_rev=after_rev,
                    upto_rev=newest_rev,
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
                course_id=self.room_id, after=self.last_seq, upto=newest_seq
            )
            for message in batch:
                if message.seq > self.last_seq:
                    self.last_seq = message.seq
                    if message.rev > newest_rev:
                        self._ahead_note({message.seq: message.rev})
                    text = json.dumps(selectors.message_frame(message))
                    await self.seq_emit(message.seq, message.rev, text, True)
            if self.seq_stopped():
                return
            if len(batch) < selectors.REPLAY_BATCH:
                break
        self.last_rev = max(self.last_rev, newest_rev)

    def _ahead_note(self, ahead: dict[int, int]) -> None:
        if ahead:
            self.fill_ahead = {**(self.fill_ahead or {}), **ahead}


async def fill_read(*, room_id: int, last_seq: int, last_rev: int) -> Fill | None:
    """A fill from the position as one list of frames (None if over REPLAY_BATCH rows: the
    caller then lets each reader fill on its own)."""
    newest_seq, newest_rev = await db(selectors.room_position)(course_id=room_id)
    updated = await db(selectors.message_list_changed)(
        course_id=room_id, upto_seq=last_seq, after_rev=last_rev, upto_rev=newest_rev
    )
    new = await db(selectors.message_list_between)(
        course_id=room_id, after=last_seq, upto=newest_seq
    )
    if len(updated) >= selectors.REPLAY_BATCH or len(new) >= selectors.REPLAY_BATCH:
        return None
    texts = [json.dumps(selectors.message_updated_frame(message)) for message in updated]
    texts += [json.dumps(selectors.message_frame(message)) for message in new]
    return Fill(
        texts=texts,
        last_seq=new[-1].seq if new else last_seq,
        last_rev=max(last_rev, newest_rev),
        ahead={message.seq: message.rev for message in new if message.rev > newest_rev},
    )
