"""Changes to sent messages over the socket: edit, react, pin frames, resume with rev, rev gaps."""

import asyncio
import json
import threading
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.db import connection, transaction
from django.utils import timezone

from chat.models import Message, Room
from chat.selectors import message_updated_frame
from tests.chat.conftest import join, open_socket, receive_type, room_path, send

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("chat_redis")]


async def resume(course, user, *, after, rev):
    """An accepted socket resuming at (after, rev), its presence snapshot already read."""
    path = f"{room_path(course.pk)}?after={after}&rev={rev}"
    communicator, connected, _ = await open_socket(path, user=user)
    assert connected
    assert (await communicator.receive_json_from(timeout=3))["type"] == "presence"
    return communicator


async def sent(communicator, reader, text="hello"):
    """Send a message and read it back from `reader`: its frame."""
    await send(communicator, message=text)
    return await receive_type(reader, "message")


async def test_an_edit_reaches_everyone_as_message_updated(room):
    course, owner, students = room
    author, reader = await join(course, students[0]), await join(course, owner)
    frame = await sent(author, reader, "frist")
    await send(author, type="edit", id=frame["id"], message="first")
    updated = await receive_type(reader, "message.updated")
    assert (updated["id"], updated["seq"], updated["rev"], updated["message"]) == (
        frame["id"],
        1,
        2,
        "first",
    )
    assert updated["edited_at"] is not None
    assert (await receive_type(author, "message.updated"))["rev"] == 2
    await author.disconnect()
    await reader.disconnect()


async def test_editing_another_members_message_is_forbidden(room):
    course, _, students = room
    author, other = await join(course, students[0]), await join(course, students[1])
    frame = await sent(author, other)
    await send(other, type="edit", id=frame["id"], message="mine now")
    assert (await receive_type(other, "error"))["code"] == "forbidden"
    await author.disconnect()
    await other.disconnect()


async def test_an_edit_after_the_window_is_refused_with_edit_window_closed(room):
    course, _, students = room
    author = await join(course, students[0])
    frame = await sent(author, author)
    await database_sync_to_async(Message.objects.filter(pk=frame["id"]).update)(
        created=timezone.now() - timedelta(hours=1)
    )
    await send(author, type="edit", id=frame["id"], message="too late")
    assert (await receive_type(author, "error"))["code"] == "edit_window_closed"
    await author.disconnect()


def room_row_held(course_id: int, release: threading.Event) -> threading.Event:
    """Lock the room's row from another connection until `release`; set once it is held."""
    held = threading.Event()

    def hold():
        with transaction.atomic():
            list(Room.objects.select_for_update().filter(pk=course_id))
            held.set()
            release.wait(timeout=5)
        connection.close()

    threading.Thread(target=hold, daemon=True).start()
    return held


async def test_a_reaction_waiting_for_its_commit_does_not_hold_up_the_sockets_next_frames(room):
    course, _, students = room
    reactor = await join(course, students[0])
    frame = await sent(reactor, reactor)
    release = threading.Event()
    held = room_row_held(course.pk, release)
    assert await asyncio.to_thread(held.wait, 5)
    try:
        await send(reactor, type="react", id=frame["id"], emoji="👍")
        await send(reactor, type="ping")
        # Answered while the reaction's transaction still waits for the room.
        await receive_type(reactor, "pong", timeout=1)
    finally:
        release.set()
    updated = await receive_type(reactor, "message.updated")
    assert updated["reactions"] == {"👍": [students[0].username]}
    await reactor.disconnect()


async def test_a_reaction_shows_who_reacted_to_everyone(room):
    course, owner, students = room
    author, reader = await join(course, students[0]), await join(course, owner)
    frame = await sent(author, reader)
    await send(reader, type="react", id=frame["id"], emoji="🎉")
    updated = await receive_type(author, "message.updated")
    assert updated["reactions"] == {"🎉": [owner.username]}
    await author.disconnect()
    await reader.disconnect()


async def test_an_emoji_outside_the_set_is_an_invalid_frame(room):
    course, _, students = room
    author = await join(course, students[0])
    frame = await sent(author, author)
    await send(author, type="react", id=frame["id"], emoji="🦄")
    assert (await receive_type(author, "error"))["code"] == "invalid_frame"
    await author.disconnect()


async def test_the_owner_pins_and_a_member_may_not(room):
    course, owner, students = room
    author, instructor = await join(course, students[0]), await join(course, owner)
    frame = await sent(author, instructor)
    await send(author, type="pin", id=frame["id"])
    assert (await receive_type(author, "error"))["code"] == "forbidden"
    await send(instructor, type="pin", id=frame["id"])
    assert (await receive_type(author, "message.updated"))["pinned"] is True
    await send(instructor, type="unpin", id=frame["id"])
    assert (await receive_type(author, "message.updated"))["pinned"] is False
    await author.disconnect()
    await instructor.disconnect()


async def test_pinning_a_pinned_message_answers_the_owner_with_its_state(room):
    course, owner, students = room
    author, instructor = await join(course, students[0]), await join(course, owner)
    # A mention: its names are read from the database when the frame is built.
    frame = await sent(author, instructor, f"see @{owner.username}")
    await send(instructor, type="pin", id=frame["id"])
    await receive_type(instructor, "message.updated")
    await send(instructor, type="pin", id=frame["id"])
    again = await receive_type(instructor, "message.updated")
    assert (again["pinned"], again["mentions"]) == (True, [owner.username])
    await author.disconnect()
    await instructor.disconnect()


async def test_history_items_carry_the_whole_state(room):
    course, owner, students = room
    author = await join(course, students[0])
    frame = await sent(author, author)
    await send(author, type="react", id=frame["id"], emoji="👍")
    await receive_type(author, "message.updated")
    await send(author, type="history")
    (item,) = (await receive_type(author, "history"))["messages"]
    assert (item["rev"], item["reactions"], item["pinned"]) == (
        2,
        {"👍": [students[0].username]},
        False,
    )
    await author.disconnect()


# --- resume -----------------------------------------------------------------------------------


async def test_resume_with_rev_sends_changes_in_rev_order_then_newer_messages(room):
    course, owner, students = room
    author = await join(course, students[0])
    first = await sent(author, author, "one")
    second = await sent(author, author, "two")
    # The client leaves at seq 2, rev 2; meanwhile: edits of both, a new message, a reaction.
    await send(author, type="edit", id=second["id"], message="two!")
    await send(author, type="edit", id=first["id"], message="one!")
    third = await sent(author, author, "three")
    await send(author, type="react", id=third["id"], emoji="👀")
    await receive_type(author, "message.updated")
    await author.disconnect()

    resumed = await resume(course, owner, after=2, rev=2)
    frames = [await resumed.receive_json_from(timeout=3) for _ in range(3)]
    assert [(f["type"], f["seq"], f["rev"], f["message"]) for f in frames] == [
        ("message.updated", 2, 3, "two!"),
        ("message.updated", 1, 4, "one!"),
        ("message", 3, 6, "three"),
    ]
    assert frames[2]["reactions"] == {"👀": [students[0].username]}
    assert await resumed.receive_nothing(timeout=0.3)
    await resumed.disconnect()


async def test_a_deletion_replays_as_message_updated_with_deleted(room):
    course, owner, students = room
    author = await join(course, students[0])
    frame = await sent(author, author)
    await send(author, type="delete", id=frame["id"])
    live = await receive_type(author, "message.deleted")
    assert (live["seq"], live["rev"]) == (1, 2)
    await author.disconnect()
    resumed = await resume(course, owner, after=1, rev=1)
    replayed = await resumed.receive_json_from(timeout=3)
    assert (replayed["type"], replayed["deleted"], replayed["message"]) == (
        "message.updated",
        True,
        None,
    )
    await resumed.disconnect()


async def test_resume_with_after_alone_sends_no_changes(room):
    course, owner, students = room
    author = await join(course, students[0])
    frame = await sent(author, author)
    await send(author, type="edit", id=frame["id"], message="edited")
    await receive_type(author, "message.updated")
    resumed = await join(course, owner, after=1)
    assert await resumed.receive_nothing(timeout=0.3)
    await author.disconnect()
    await resumed.disconnect()


async def test_rev_without_after_is_an_invalid_frame(room):
    course, owner, _ = room
    communicator, connected, _ = await open_socket(f"{room_path(course.pk)}?rev=3", user=owner)
    assert connected
    assert (await communicator.receive_json_from(timeout=3))["type"] == "presence"
    error = await communicator.receive_json_from(timeout=3)
    assert (error["type"], error["code"]) == ("error", "invalid_frame")
    await communicator.disconnect()


async def test_live_frames_after_a_resume_continue_without_gap_or_duplicate(room):
    course, owner, students = room
    author = await join(course, students[0])
    frame = await sent(author, author)
    await send(author, type="edit", id=frame["id"], message="edited")
    await receive_type(author, "message.updated")
    resumed = await resume(course, owner, after=1, rev=1)
    assert (await resumed.receive_json_from(timeout=3))["rev"] == 2
    await send(author, type="react", id=frame["id"], emoji="👍")
    assert (await receive_type(resumed, "message.updated"))["rev"] == 3
    assert await resumed.receive_nothing(timeout=0.3)
    await author.disconnect()
    await resumed.disconnect()


# --- gaps -------------------------------------------------------------------------------------


def edit_without_event(message_id, text):
    """Change a message as the services do, minus the broadcast: a change the layer lost."""
    with transaction.atomic():
        message = Message.objects.select_related("user").get(pk=message_id)
        room = Room.objects.select_for_update().get(pk=message.room_id)
        room.last_rev += 1
        room.save()
        message.text, message.rev, message.edited_at = text, room.last_rev, timezone.now()
        message.save()
        return message_updated_frame(message)


async def test_a_lost_change_before_a_live_one_is_filled_from_the_database(room, settings):
    settings.CHAT_RECONCILE_INTERVAL = 60
    course, owner, students = room
    author, reader = await join(course, students[0]), await join(course, owner)
    frame = await sent(author, reader)
    await database_sync_to_async(edit_without_event)(frame["id"], "unannounced")
    await send(author, type="react", id=frame["id"], emoji="👍")
    # The database holds the message's current state only: both changes in one frame.
    updated = await receive_type(reader, "message.updated")
    assert (updated["rev"], updated["message"], updated["reactions"]) == (
        3,
        "unannounced",
        {"👍": [students[0].username]},
    )
    assert await reader.receive_nothing(timeout=0.3)
    await author.disconnect()
    await reader.disconnect()


async def test_a_lost_change_alone_is_caught_up_by_reconciliation(room, settings):
    settings.CHAT_RECONCILE_INTERVAL = 0.2
    course, owner, students = room
    author, reader = await join(course, students[0]), await join(course, owner)
    frame = await sent(author, reader)
    expected = await database_sync_to_async(edit_without_event)(frame["id"], "unannounced")
    assert json.loads(json.dumps(expected)) == await receive_type(reader, "message.updated")
    await author.disconnect()
    await reader.disconnect()


def insert_without_event(course, user, count):
    """Store messages as the services do, minus the broadcast: events the layer lost."""
    with transaction.atomic():
        room = Room.objects.select_for_update().get(pk=course.pk)
        for _ in range(count):
            room.last_seq += 1
            room.last_rev += 1
            Message.objects.create(
                room=room, seq=room.last_seq, rev=room.last_rev, user=user, text="unannounced"
            )
        room.save()


async def test_a_gap_too_long_for_the_room_to_hold_is_filled_by_each_socket(
    room, settings, monkeypatch
):
    settings.CHAT_RECONCILE_INTERVAL = 60
    monkeypatch.setattr("chat.selectors.REPLAY_BATCH", 2)
    course, owner, students = room
    author, reader = await join(course, students[0]), await join(course, owner)
    await sent(author, reader, "first")
    await database_sync_to_async(insert_without_event)(course, owner, 3)
    await send(author, message="announced")
    frames = [await receive_type(reader, "message") for _ in range(4)]
    assert [(frame["seq"], frame["message"]) for frame in frames] == [
        (2, "unannounced"),
        (3, "unannounced"),
        (4, "unannounced"),
        (5, "announced"),
    ]
    assert await reader.receive_nothing(timeout=0.3)
    await author.disconnect()
    await reader.disconnect()
