"""Group commit: the process's message writer stores concurrent messages a batch at a time."""

import asyncio

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError

from chat.models import Message
from chat.runtime.db import db
from chat.runtime.shared_state import SharedState
from chat.runtime.writer import MessageWriter
from chat.services import MessageDraft
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


async def stored_count(course) -> int:
    # Through `db`, which closes its connection (async ORM calls would leave one open).
    return await db(Message.objects.filter(room_id=course.pk).count)()


@pytest.fixture
def members():
    course = CourseFactory(owner=UserFactory())
    return course, [EnrollmentFactory(course=course).student for _ in range(3)]


class Writer:
    """A writer over the real database and Redis that counts its transactions."""

    def __init__(self, redis_url: str):
        self.transactions = 0
        self.state = SharedState(url=redis_url, process_id="test", ttl=30.0)

        def run_in_thread(function):
            self.transactions += 1
            return db(function)

        self.writer = MessageWriter(
            run_in_thread=run_in_thread,
            rate_allow_many=lambda senders, rate: self.state.rate_allow_many(senders, rate=rate),
        )

    async def write(self, course, author, text: str):
        draft = MessageDraft(author=author, course_id=course.pk, text=text)
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
