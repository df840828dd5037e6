"""Group commit: the messages of every socket of a process, stored a batch per transaction.

A socket hands its message to the process's writer and waits; the writer stores everything
that has arrived since its last transaction in one (chat/services.py message_create_many), so a
busy room costs a few transactions a second instead of one per message. Each sender still
learns its message's fate only after the commit, and the broadcast still follows the commit.
"""

import asyncio
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError

from educa.ratelimit import rate_parse

from .. import services

logger = logging.getLogger(__name__)

# The most messages one transaction stores; more wait for the next one.
BATCH_MAX = 500
RATE_LIMITED = "Too many messages: wait a few seconds."


class MessageWriter:
    def __init__(self, *, run_in_thread, rate_allow_many):
        # How ORM work leaves the event loop (the hub's `db`).
        self._run_in_thread = run_in_thread
        # The shared rate limit, asked once per batch: [(room, user)] -> [allowed].
        self._rate_allow_many = rate_allow_many
        self._waiting: list[tuple[services.MessageDraft, asyncio.Future]] = []
        self._task: asyncio.Task | None = None

    async def write(self, draft: services.MessageDraft):
        """Store the draft with whatever else is waiting: (message, created) once committed.

        Raises the draft's ValidationError (rate_limited when its sender is over
        CHAT_RATE_LIMIT in the room), or the DatabaseError that failed its batch.
        """
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((draft, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="chat-message-writer")
        result = await future
        if isinstance(result, ValidationError):
            raise result
        return result

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:BATCH_MAX], self._waiting[BATCH_MAX:]
            try:
                results = await self._store(batch)
            except Exception as error:  # noqa: BLE001 - every sender of the batch is told
                if not isinstance(error, DatabaseError):
                    logger.exception("Chat messages not stored")
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                # A sender that went away no longer waits (its future is cancelled).
                if not future.done():
                    future.set_result(result)

    async def _store(self, batch: list) -> list:
        drafts = [draft for draft, _ in batch]
        rate = rate_parse(settings.CHAT_RATE_LIMIT)
        allowed = await self._rate_allow_many(
            [(draft.course_id, draft.author.pk) for draft in drafts], rate=rate
        )
        results = [
            None if ok else ValidationError(RATE_LIMITED, code="rate_limited") for ok in allowed
        ]
        admitted = [draft for draft, ok in zip(drafts, allowed, strict=True) if ok]
        if admitted:
            stored = iter(await self._run_in_thread(services.message_create_many)(admitted))
            results = [next(stored) if result is None else result for result in results]
        return results
