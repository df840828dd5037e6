"""Group commit: the process's message writer stores concurrent messages and reactions a batch
at a time."""

import asyncio
import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection

from chat.models import Message, Reaction
from chat.runtime.db import db
from chat.runtime.shared_state import SharedState
from chat.runtime.writer import MessageWriter
from chat.services import MessageDraft, ReactionDraft
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


async def stored_count(course) -> int:
    # Through `db`, which closes its connection (async ORM calls would leave one open).
    return await db(Message.objects.filter(room_id=course.pk).count)()


async def stored_texts_once_settled(course, count: int, timeout: float = 5.0) -> list[str]:
    """The room's texts once `count` messages are stored (or the timeout passed), oldest first."""
    deadline = time.monotonic() + timeout
    while await stored_count(course) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    # A moment more: a message that should not be stored has its chance to show up.
    await asyncio.sleep(0.2)
    query = Message.objects.filter(room_id=course.pk).order_by("seq").values_list("text", flat=True)
    return await db(lambda: list(query))()


@pytest.fixture
def members():
    course = CourseFactory(owner=UserFactory())
    return course, [EnrollmentFactory(course=course).student for _ in range(3)]


class Writer:
    """A writer over the real database and Redis that counts its transactions."""

    def __init__(self, redis_url: str):
        self.transactions = 0
        self.state = SharedState(url=redis_url, process_id="test", ttl=30.0)
        # Cleared, it holds every transaction back until set (a database that hangs).
        self.database_answers = threading.Event()
        self.database_answers.set()

        def run_in_thread(function):
            self.transactions += 1

            def held_back(*args, **kwargs):
                self.database_answers.wait()
                return function(*args, **kwargs)

            return db(held_back)

        self.writer = MessageWriter(
            run_in_thread=run_in_thread,
            rate_allow_many=lambda senders, rate: self.state.rate_allow_many(senders, rate=rate),
            rate_refund_many=self.state.rate_refund_many,
        )

    async def write(self, course, author, text: str, client_id: str | None = None):
        draft = MessageDraft(author=author, course_id=course.pk, text=text, client_id=client_id)
        return await self.writer.write(draft)


@pytest.fixture
def writer(chat_redis):
    return Writer(chat_redis.url)


async def test_concurrent_messages_share_transactions_and_each_sender_gets_its_own(members, writer):
    course, students = members
    texts = [f"{student.username} {n}" for n in range(10) for student in students]
    authors = {f"{student.username} {n}": student for n in range(10) for student in students}
    results = await asyncio.gather(*(writer.write(course, authors[t], t) for t in texts))
    assert [message.text for message, created in results] == texts
    assert sorted(message.seq for message, _ in results) == list(range(1, 31))
    assert writer.transactions < len(texts) / 2
    assert await stored_count(course) == 30
    await writer.state.close()


async def test_concurrent_reactions_share_transactions_with_messages(members, writer):
    course, students = members
    target, _ = await writer.write(course, students[0], "react to me")
    transactions_before = writer.transactions
    reactions = [
        ReactionDraft(actor=student, course_id=course.pk, message_id=target.pk, emoji=emoji)
        for student in students
        for emoji in ("👍", "🎉")
    ]
    results = await asyncio.gather(
        *(writer.writer.write(draft) for draft in reactions),
        *(writer.write(course, student, f"{student.username} talks") for student in students),
    )
    assert writer.transactions - transactions_before < len(results) / 2
    assert all(message.pk == target.pk for message in results[: len(reactions)])
    assert await db(Reaction.objects.filter(message=target).count)() == len(reactions)
    assert await stored_count(course) == 1 + len(students)
    await writer.state.close()


async def test_a_reaction_is_not_counted_against_the_rate_limit(members, writer, settings):
    settings.CHAT_RATE_LIMIT = "1/10s"
    course, (student, *_) = members
    message, _ = await writer.write(course, student, "mine")
    draft = ReactionDraft(actor=student, course_id=course.pk, message_id=message.pk, emoji="👍")
    for _ in range(3):
        assert (await writer.writer.write(draft)).pk == message.pk
    await writer.state.close()


async def test_a_sender_over_the_rate_limit_is_refused_and_others_are_not(
    members, writer, settings
):
    settings.CHAT_RATE_LIMIT = "2/10s"
    course, (talker, other, _) = members
    results = await asyncio.gather(
        *(writer.write(course, talker, f"talk {n}") for n in range(3)),
        writer.write(course, other, "quiet"),
        return_exceptions=True,
    )
    refused = [r.code for r in results if isinstance(r, ValidationError)]
    assert refused == ["rate_limited"]
    assert await stored_count(course) == 3
    await writer.state.close()


async def test_a_failed_batch_fails_every_sender_in_it_and_the_next_batch_is_stored(
    members, writer
):
    course, (student, *_) = members
    first = MessageDraft(author=student, course_id=course.pk + 1000, text="no such room")
    with pytest.raises(DatabaseError):
        await writer.writer.write(first)
    message, created = await writer.write(course, student, "after the failure")
    assert created and message.seq == 1
    await writer.state.close()


async def test_a_sender_hears_at_the_write_timeout_while_its_batch_still_commits(
    members, writer, settings
):
    settings.CHAT_WRITE_TIMEOUT = 0.5
    course, (student, *_) = members
    writer.database_answers.clear()
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    loop.call_later(1.5, writer.database_answers.set)
    with pytest.raises(TimeoutError):
        await writer.write(course, student, "slow", client_id="slow-1")
    assert time.monotonic() - started < 1.0
    # Not cancelled: the transaction under way at the timeout stores the message.
    assert await stored_texts_once_settled(course, 1) == ["slow"]
    await writer.state.close()


async def test_a_message_whose_sender_timed_out_before_its_batch_began_is_not_stored(
    members, writer, settings
):
    settings.CHAT_WRITE_TIMEOUT = 0.5
    course, (first, second, _) = members
    writer.database_answers.clear()
    asyncio.get_running_loop().call_later(1.5, writer.database_answers.set)
    in_flight = asyncio.ensure_future(writer.write(course, first, "under way"))
    await asyncio.sleep(0.1)
    with pytest.raises(TimeoutError):
        await writer.write(course, second, "waits behind it")
    with pytest.raises(TimeoutError):
        await in_flight
    assert await stored_texts_once_settled(course, 1) == ["under way"]
    await writer.state.close()


async def test_a_resend_is_not_counted_against_the_rate_limit(members, writer, settings):
    settings.CHAT_RATE_LIMIT = "2/10s"
    course, (student, *_) = members
    original, created = await writer.write(course, student, "once", client_id="c-1")
    for _ in range(3):
        assert await writer.write(course, student, "once", client_id="c-1") == (original, False)
    message, created = await writer.write(course, student, "next", client_id="c-2")
    assert created and message.seq == 2
    await writer.state.close()


async def test_a_resend_over_the_rate_limit_gets_its_stored_message(members, writer, settings):
    settings.CHAT_RATE_LIMIT = "1/10s"
    course, (student, *_) = members
    original, _ = await writer.write(course, student, "once", client_id="c-1")
    assert await writer.write(course, student, "once", client_id="c-1") == (original, False)
    with pytest.raises(ValidationError) as refused:
        await writer.write(course, student, "another", client_id="c-2")
    assert refused.value.code == "rate_limited"
    await writer.state.close()


async def test_a_new_message_is_not_refused_for_a_resend_in_the_same_batch(
    members, writer, settings
):
    settings.CHAT_RATE_LIMIT = "2/10s"
    course, (student, *_) = members
    original, _ = await writer.write(course, student, "once", client_id="c-1")
    *resends, (message, created) = await asyncio.gather(
        writer.write(course, student, "once", client_id="c-1"),
        writer.write(course, student, "once", client_id="c-1"),
        writer.write(course, student, "next", client_id="c-2"),
    )
    assert resends == [(original, False)] * 2
    assert created and message.seq == 2
    await writer.state.close()


def refuse_inserts(on: bool) -> None:
    """A real database failure for chat messages only: a trigger that refuses every insert."""
    with connection.cursor() as cursor:
        if on:
            cursor.execute(
                "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'storage unavailable'; END $$ LANGUAGE plpgsql;"
                "CREATE TRIGGER refuse BEFORE INSERT ON chat_message "
                "FOR EACH ROW EXECUTE FUNCTION refuse();"
            )
        else:
            cursor.execute("DROP TRIGGER refuse ON chat_message; DROP FUNCTION refuse();")


async def test_a_batch_the_database_refuses_is_not_counted_against_the_rate_limit(
    members, writer, settings
):
    settings.CHAT_RATE_LIMIT = "1/10s"
    course, (student, *_) = members
    await db(refuse_inserts)(True)
    try:
        with pytest.raises(DatabaseError):
            await writer.write(course, student, "refused", client_id="c-1")
    finally:
        await db(refuse_inserts)(False)
    message, created = await writer.write(course, student, "refused", client_id="c-1")
    assert created and message.seq == 1
    await writer.state.close()
