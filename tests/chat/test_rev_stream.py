"""A room's stream of messages and changes (chat/runtime/seq.py): what a fill reads and sends."""

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat import selectors
from chat.models import Message
from chat.runtime.seq import SeqStream
from chat.selectors import message_frame, message_updated_frame
from chat.services import message_create, message_edit, message_react
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory

REACTIONS = ["👍", "🎉", "👀", "🔥"]


class Client(SeqStream):
    """A stream that keeps what it is sent, as a client would: messages by id."""

    def __init__(self, room_id: int, last_seq: int, last_rev: int):
        self.room_id, self.last_seq, self.last_rev, self.filling = room_id, last_seq, last_rev, 0
        self.frames: list[dict] = []

    async def seq_emit(self, seq, rev, text, new):
        self.frames.append(json.loads(text))


@pytest.fixture(autouse=True)
def fill_in_this_thread(monkeypatch):
    """The fill's queries run in the test's thread, inside its transaction, where they are
    counted (the runtime runs them in a pool)."""
    monkeypatch.setattr(
        "chat.runtime.seq.db", lambda function: sync_to_async(function, thread_sensitive=True)
    )


@pytest.fixture
def course(db):
    return CourseFactory(owner=UserFactory())


@pytest.fixture
def student(course):
    return EnrollmentFactory(course=course).student


def changes(course, student, messages, count):
    """`count` changes spread over the messages: edits and reaction toggles in turn."""
    for index in range(count):
        message = messages[index % len(messages)]
        if index % 2:
            message_edit(actor=student, course=course, message_id=message.pk, text=f"v{index}")
        else:
            emoji = REACTIONS[index // len(messages) % len(REACTIONS)]
            message_react(actor=student, course=course, message_id=message.pk, emoji=emoji)


def resumed_after(course, student, count) -> tuple[Client, int]:
    """A client that had 20 messages, resumed after `count` changes and 5 new messages: the
    client and the number of queries its fill took."""
    messages = [message_create(author=student, course=course, text=str(i))[0] for i in range(20)]
    changes(course, student, messages, count)
    for index in range(5):
        message_create(author=student, course=course, text=f"new {index}")
    client = Client(course.pk, last_seq=20, last_rev=20)
    with CaptureQueriesContext(connection) as queries:
        async_to_sync(client.gap_fill)()
    return client, len(queries.captured_queries)


def test_a_resume_after_1000_changes_costs_the_queries_of_one_after_10(course, student):
    _, after_ten = resumed_after(CourseFactory(owner=UserFactory()), student, 10)
    client, after_thousand = resumed_after(course, student, 1000)
    # docs/websocket-protocol.md states the number.
    assert after_thousand == after_ten == 3
    assert len(client.frames) == 25


def test_a_resumed_client_ends_with_the_databases_state(course, student):
    client, _ = resumed_after(course, student, 200)
    state = {}
    for frame in client.frames:
        state[frame["id"]] = {key: value for key, value in frame.items() if key != "type"}
    stored = {}
    for message in Message.objects.filter(room_id=course.pk).select_related("user"):
        frame = message_frame(message)
        stored[message.pk] = {key: frame[key] for key in state.get(message.pk, frame)}
        stored[message.pk].pop("type", None)
    changed_or_new = {pk: value for pk, value in stored.items() if pk in state}
    assert state == changed_or_new
    assert len(state) == 25
    assert (client.last_seq, client.last_rev) == (25, 20 + 200 + 5)


def test_updates_come_in_rev_order_before_new_messages_in_seq_order(course, student):
    first, second = (message_create(author=student, course=course, text=t)[0] for t in "ab")
    message_edit(actor=student, course=course, message_id=second.pk, text="b!")
    message_create(author=student, course=course, text="c")
    message_edit(actor=student, course=course, message_id=first.pk, text="a!")
    client = Client(course.pk, last_seq=2, last_rev=2)
    async_to_sync(client.gap_fill)()
    assert [(frame["type"], frame["seq"]) for frame in client.frames] == [
        ("message.updated", 2),
        ("message.updated", 1),
        ("message", 3),
    ]


def test_a_live_item_already_covered_by_a_fill_is_not_sent_again(course, student):
    message_create(author=student, course=course, text="a")
    client = Client(course.pk, last_seq=0, last_rev=0)
    async_to_sync(client.gap_fill)()
    async_to_sync(client.seq_send)(1, 1, "{}", True)
    assert len(client.frames) == 1


class PausedFill:
    """The fill's queries, with a pause right after it read the room's position: the test
    commits and publishes a change there, then lets the fill read its rows."""

    def __init__(self):
        self.position_read = asyncio.Event()
        self.resume = asyncio.Event()

    def db(self, function):
        run = sync_to_async(function, thread_sensitive=True)
        if function is not selectors.room_position:
            return run

        async def paused(**kwargs):
            position = await run(**kwargs)
            self.position_read.set()
            await self.resume.wait()
            return position

        return paused


def fill_racing(client: Client, change) -> None:
    """Run the client's fill; between its position and its rows, `change()` commits a change,
    whose live item then reaches the client while the fill goes on."""
    paused = PausedFill()

    def commit():
        message = change()
        return message, json.dumps(message_updated_frame(message))

    async def race():
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("chat.runtime.seq.db", paused.db)
            fill = asyncio.create_task(client.gap_fill())
            await paused.position_read.wait()
            message, frame = await sync_to_async(commit)()
            # A task: a stream that answered the gap with a fill of its own would wait here.
            live = asyncio.create_task(client.seq_send(message.seq, message.rev, frame, False))
            await asyncio.sleep(0)
            paused.resume.set()
            async with asyncio.timeout(10):
                await asyncio.gather(fill, live)

    async_to_sync(race)()


def test_a_change_committed_during_a_fill_is_sent_once(course, student):
    first, second = (message_create(author=student, course=course, text=t)[0] for t in "ab")
    message_edit(actor=student, course=course, message_id=first.pk, text="a!")
    client = Client(course.pk, last_seq=2, last_rev=2)

    fill_racing(
        client,
        lambda: message_react(actor=student, course=course, message_id=second.pk, emoji="👍"),
    )

    assert [(frame["seq"], frame["rev"]) for frame in client.frames] == [(1, 3), (2, 4)]
    assert (client.last_seq, client.last_rev) == (2, 4)


def test_a_new_message_changed_during_a_fill_is_sent_once_in_its_newer_state(course, student):
    message = message_create(author=student, course=course, text="a")[0]
    client = Client(course.pk, last_seq=0, last_rev=0)

    fill_racing(
        client,
        lambda: message_react(actor=student, course=course, message_id=message.pk, emoji="👍"),
    )

    assert [(frame["type"], frame["rev"]) for frame in client.frames] == [("message", 2)]
    assert client.frames[0]["reactions"]
    assert (client.last_seq, client.last_rev, client.fill_ahead) == (1, 2, None)
