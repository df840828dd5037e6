"""A room's messages handed on once each and in seq order, any gap filled from the database.

The runtime's one gap filler: a hub's room (chat/runtime/rooms.py) and each socket
(chat/runtime/socket.py) are both seq streams.
"""

import json

from .. import selectors
from .db import db


class SeqStream:
    """Mixin for an object with `room_id`, `last_seq` (the last seq handed on) and `seq_emit`.

    Every sender of seq frames checks and moves last_seq before handing a frame on, so a gap
    fill running meanwhile skips what was handed on elsewhere.
    """

    __slots__ = ()

    async def seq_emit(self, seq: int, text: str) -> None:
        """Hand on one message frame (its seq is last_seq, already moved)."""
        raise NotImplementedError

    def seq_stopped(self) -> bool:
        """True once nothing more should be handed on (a closed socket)."""
        return False

    async def seq_send(self, seq: int, text: str) -> None:
        """Hand on a message frame unless already handed on; a gap before it is filled first."""
        if seq <= self.last_seq:
            return
        if seq > self.last_seq + 1:
            await self.gap_fill(upto=seq - 1)
        if seq > self.last_seq:
            self.last_seq = seq
            await self.seq_emit(seq, text)

    async def gap_fill(self, upto: int | None = None) -> None:
        """Hand on every stored message above last_seq (up to `upto`), oldest first."""
        while True:
            batch = await db(selectors.message_list_between)(
                course_id=self.room_id, after=self.last_seq, upto=upto
            )
            for message in batch:
                if message.seq > self.last_seq:
                    self.last_seq = message.seq
                    await self.seq_emit(message.seq, json.dumps(selectors.message_frame(message)))
            done = upto is not None and self.last_seq >= upto
            if len(batch) < selectors.REPLAY_BATCH or done or self.seq_stopped():
                return
