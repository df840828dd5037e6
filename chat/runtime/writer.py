"""Group commit: the messages and reactions of every socket of a process, stored a batch per
transaction.

A socket hands its message (or reaction) to the process's writer and waits; the writer stores
everything that has arrived since its last transaction in one (chat/services.py
room_changes_store), so a busy room costs a few transactions a second instead of one per
message, and its reactions do not queue on the room's lock between them. Each sender learns its
draft's fate after the commit, or at CHAT_WRITE_TIMEOUT that it is not confirmed; the broadcast
still follows the commit.
"""

import asyncio
import logging
from collections import Counter

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError

from educa.ratelimit import rate_parse

from .. import services
from ..services import MessageDraft, ReactionDraft

Draft = MessageDraft | ReactionDraft

logger = logging.getLogger(__name__)

# The most drafts one transaction stores; more wait for the next one.
BATCH_MAX = 500


class MessageWriter:
    def __init__(self, *, run_in_thread, rate_allow_many, rate_refund_many):
        # How ORM work leaves the event loop (the hub's `db`).
        self._run_in_thread = run_in_thread
        # The shared rate limit, asked once per batch: [(room, user)] -> [allowed].
        self._rate_allow_many = rate_allow_many
        # Takes back the newest count of each (room, user) listed: messages not stored anew.
        self._rate_refund_many = rate_refund_many
        self._waiting: list[tuple[Draft, asyncio.Future]] = []
        self._task: asyncio.Task | None = None

    async def write(self, draft: Draft):
        """Store the draft with whatever else is waiting, once committed: (message, created)
        for a message, the message as it now is for a reaction.

        Raises the draft's ValidationError (a message's rate_limited when its sender is over
        CHAT_RATE_LIMIT in the room and it is no resend), the DatabaseError that failed its
        batch, or TimeoutError when its batch has not committed within CHAT_WRITE_TIMEOUT
        seconds: the message is then not confirmed (a commit under way may still store it).
        """
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((draft, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="chat-message-writer")
        # The timeout cancels this wait only: the batch runs on in the writer's task, and a
        # draft whose sender no longer waits is left out of the batches that start later.
        async with asyncio.timeout(settings.CHAT_WRITE_TIMEOUT):
            result = await future
        if isinstance(result, ValidationError):
            raise result
        return result

    async def _drain(self) -> None:
        while self._waiting:
            # Senders told at the timeout (or gone) are not stored behind their back.
            waiting = [(draft, future) for draft, future in self._waiting if not future.done()]
            batch, self._waiting = waiting[:BATCH_MAX], waiting[BATCH_MAX:]
            if not batch:
                continue
            try:
                results = await self._store(batch)
            except Exception as error:  # noqa: BLE001 - every sender of the batch is told
                if not isinstance(error, DatabaseError):
                    logger.exception("Chat messages not stored")
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            retry = []
            for entry, result in zip(batch, results, strict=True):
                if result is None:
                    retry.append(entry)
                # A sender that went away or timed out no longer waits (its future is done).
                elif not entry[1].done():
                    entry[1].set_result(result)
            self._waiting[:0] = retry

    async def _store(self, batch: list) -> list:
        """Per entry of the batch: its result, or None for a draft to store in the next batch."""
        messages = [i for i, (draft, _) in enumerate(batch) if isinstance(draft, MessageDraft)]
        reactions = [i for i, (draft, _) in enumerate(batch) if isinstance(draft, ReactionDraft)]
        message_results, reaction_results = await self._changes_store(
            [batch[i][0] for i in messages], [batch[i][0] for i in reactions]
        )
        results = [None] * len(batch)
        for indexes, outcomes in ((messages, message_results), (reactions, reaction_results)):
            for index, outcome in zip(indexes, outcomes, strict=True):
                results[index] = outcome
        return results

    async def _changes_store(
        self, drafts: list[MessageDraft], reactions: list[ReactionDraft]
    ) -> tuple[list, list]:
        """The drafts' results (None: store in the next batch) and the reactions'."""
        senders = [(draft.course_id, draft.author.pk) for draft in drafts]
        rate = rate_parse(settings.CHAT_RATE_LIMIT)
        allowed = await self._rate_allow_many(senders, rate=rate) if drafts else []
        over_rate = frozenset(index for index, ok in enumerate(allowed) if not ok)
        # A resend over the rate is still answered with its stored message, so the database is
        # asked unless every draft is over the rate, none can be a resend and no reaction waits.
        if (
            not reactions
            and len(over_rate) == len(drafts)
            and all(draft.client_id is None for draft in drafts)
        ):
            return [ValidationError(services.RATE_LIMITED, code="rate_limited") for _ in drafts], []
        try:
            results, reaction_results = await self._run_in_thread(services.room_changes_store)(
                drafts, reactions, over_rate=over_rate
            )
        except Exception:
            # Nothing was stored: the senders' resends must not count twice.
            await self._refund([index for index, ok in enumerate(allowed) if ok], senders)
            raise
        # Resends that got their stored message back take back the count they were admitted on.
        resent = [
            index
            for index, result in enumerate(results)
            if allowed[index] and isinstance(result, tuple) and not result[1]
        ]
        if resent:
            await self._refund(resent, senders)
            # A new message of the same sender refused in this batch was refused for a resend's
            # count: it goes again in the next batch (None), counted after the refund.
            freed = Counter(senders[index] for index in resent)
            for index in sorted(over_rate):
                refused = results[index]
                if freed[senders[index]] and getattr(refused, "code", None) == "rate_limited":
                    freed[senders[index]] -= 1
                    results[index] = None
        return results, reaction_results

    async def _refund(self, indexes: list[int], senders: list[tuple[int, int]]) -> None:
        if indexes:
            await self._rate_refund_many([senders[index] for index in indexes])
