"""The per-process hub: sockets get every seq even when the channel layer lost events."""

import asyncio
import importlib
import logging

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from chat import events
from chat.models import Message, Room
from chat.runtime import rooms
from chat.runtime.seq import SeqStream
from chat.services import message_create, message_react
from educa.settings import base
from tests.chat.conftest import join, receive_type, send

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("chat_redis")]


def insert_without_event(course, user, count):
    """Store messages as message_create does, minus the broadcast: a lost layer event."""
    with transaction.atomic():
        room, _ = Room.objects.select_for_update().get_or_create(course=course)
        for _ in range(count):
            room.last_seq += 1
            room.last_rev += 1
            Message.objects.create(
                room=room, seq=room.last_seq, rev=room.last_rev, user=user, text="unannounced"
            )
        room.save()


async def test_a_gap_before_a_live_message_is_filled_from_the_database(room, settings):
    settings.CHAT_RECONCILE_INTERVAL = 60
    course, owner, students = room
    reader = await join(course, owner)
    sender = await join(course, students[0])
    await database_sync_to_async(insert_without_event)(course, owner, 2)
    await send(sender, message="announced")
    frames = [await receive_type(reader, "message") for _ in range(3)]
    assert [(frame["seq"], frame["message"]) for frame in frames] == [
        (1, "unannounced"),
        (2, "unannounced"),
        (3, "announced"),
    ]
    await reader.disconnect()
    await sender.disconnect()


async def test_messages_whose_events_were_lost_arrive_by_reconciliation(room, settings):
    settings.CHAT_RECONCILE_INTERVAL = 0.2
    course, owner, _ = room
    reader = await join(course, owner)
    await database_sync_to_async(insert_without_event)(course, owner, 3)
    seqs = [(await receive_type(reader, "message"))["seq"] for _ in range(3)]
    assert seqs == [1, 2, 3]
    await reader.disconnect()


def test_a_group_send_over_capacity_is_logged_as_a_warning(settings, redis_channel_layer, caplog):
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["capacity"] = 1
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("chat.room.1", channel)
    with caplog.at_level(logging.WARNING):
        async_to_sync(layer.group_send)("chat.room.1", {"type": "chat.message"})
        async_to_sync(layer.group_send)("chat.room.1", {"type": "chat.message"})
    warnings = [record for record in caplog.records if "over capacity" in record.getMessage()]
    assert [record.levelname for record in warnings] == ["WARNING"]


def redis_settings() -> dict:
    """Chat-related values of educa.settings.base as read with REDIS_URL set."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REDIS_URL", "redis://redis.example:6379/0")
        module = importlib.reload(base)
        values = {"layer": module.CHANNEL_LAYERS["default"], "state": module.CHAT_REDIS_URL}
    importlib.reload(base)
    return values


def test_with_redis_the_channel_layer_bounds_and_expires_its_queues():
    values = redis_settings()
    layer = values["layer"]
    assert layer["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    assert layer["CONFIG"]["capacity"] >= 100
    assert layer["CONFIG"]["expiry"] <= 60
    # redis-py 8 refuses a 101st connection by default: the pool is sized.
    assert layer["CONFIG"]["hosts"][0]["max_connections"] >= 1000
    assert values["state"] == "redis://redis.example:6379/0"


def test_a_crashed_processs_presence_expires_within_a_minute_by_default():
    # An entry lives CHAT_PRESENCE_TTL after its last refresh; another process reaps it at its
    # next heartbeat.
    assert base.CHAT_PRESENCE_TTL + base.CHAT_HEARTBEAT <= 60
    assert base.CHAT_HEARTBEAT < base.CHAT_PRESENCE_TTL


def fills_counted(monkeypatch) -> list:
    """Every database fill of a room or a socket, as it starts."""
    started = []
    room_fill, stream_fill = rooms.fill_read, SeqStream._fill

    async def room_fill_counted(**kwargs):
        started.append("room")
        return await room_fill(**kwargs)

    async def stream_fill_counted(stream, **kwargs):
        started.append("socket")
        return await stream_fill(stream, **kwargs)

    monkeypatch.setattr(rooms, "fill_read", room_fill_counted)
    monkeypatch.setattr(SeqStream, "_fill", stream_fill_counted)
    return started


async def message_and_reaction_committed(monkeypatch, course, author, reactor):
    """Two transactions committed, a message and then a reaction to it, with their events
    kept back instead of published: (the message's event, the reaction's)."""
    committed = []
    monkeypatch.setattr(events, "events_publish_now", committed.extend)

    def commit_both():
        message, _ = message_create(author=author, course=course, text="hello")
        message_react(actor=reactor, course=course, message_id=message.pk, emoji="👍")

    await database_sync_to_async(commit_both)()
    return committed


async def test_changes_published_out_of_order_reach_every_socket_in_rev_order_once(
    room, settings, monkeypatch
):
    settings.CHAT_RECONCILE_INTERVAL = 60
    settings.CHAT_GAP_GRACE = 1
    course, owner, students = room
    readers = [await join(course, owner), await join(course, students[1])]
    fills = fills_counted(monkeypatch)
    message_event, reaction_event = await message_and_reaction_committed(
        monkeypatch, course, owner, students[0]
    )
    # Published the reaction's first, as two processes' writers may.
    await events.event_publish(*reaction_event)
    await asyncio.sleep(0.05)
    await events.event_publish(*message_event)

    for reader in readers:
        frames = [
            await receive_type(reader, "message"),
            await receive_type(reader, "message.updated"),
        ]
        assert [(frame["seq"], frame["rev"]) for frame in frames] == [(1, 1), (1, 2)]
        assert await reader.receive_nothing(timeout=0.3)
    assert fills == []
    for reader in readers:
        await reader.disconnect()


async def test_a_change_never_published_is_filled_once_the_grace_is_over(
    room, settings, monkeypatch
):
    settings.CHAT_RECONCILE_INTERVAL = 60
    settings.CHAT_GAP_GRACE = 0.2
    course, owner, students = room
    reader = await join(course, owner)
    fills = fills_counted(monkeypatch)
    _, reaction_event = await message_and_reaction_committed(
        monkeypatch, course, owner, students[0]
    )
    await events.event_publish(*reaction_event)

    frame = await receive_type(reader, "message")
    assert (frame["seq"], frame["rev"], len(frame["reactions"])) == (1, 2, 1)
    assert await reader.receive_nothing(timeout=0.3)
    assert fills == ["room"]
    await reader.disconnect()
