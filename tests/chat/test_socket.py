"""A socket's runtime: its loop in place of Channels', its backlog bound, its gap-fill retry."""

import asyncio
import hashlib
import inspect
import logging

import pytest
from autobahn.exception import Disconnected
from channels.consumer import AsyncConsumer
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import connection

from chat.runtime import socket as room_socket
from chat.services import message_create, typing_announce
from tests.chat.conftest import application, close_code, join, receive_type, send

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("chat_redis")]

# What RoomSocket.__call__ and dispatch replace, and the Channels methods they must still suit,
# as written in channels 4.3.2. A change means: compare chat/runtime/socket.py with the new
# code, adapt it, then record the new fingerprints here.
CHANNELS_FINGERPRINTS = {
    AsyncConsumer.__call__: "e52238720872dbc3",
    AsyncConsumer.dispatch: "39f34e7d4fb0f655",
    AsyncWebsocketConsumer.websocket_connect: "8128b5f6cfc5e2f8",
    AsyncWebsocketConsumer.websocket_disconnect: "10f38aa55fd51ff5",
}


def fingerprint(function) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]


def test_the_channels_code_the_room_socket_replaces_is_unchanged():
    assert list(inspect.signature(AsyncConsumer.__call__).parameters) == [
        "self",
        "scope",
        "receive",
        "send",
    ]
    assert {function.__qualname__: fingerprint(function) for function in CHANNELS_FINGERPRINTS} == {
        function.__qualname__: expected for function, expected in CHANNELS_FINGERPRINTS.items()
    }


async def test_a_socket_whose_backlog_passes_the_bound_is_closed_with_4408(room):
    course, owner, students = room
    reader = await join(course, owner)
    # Announced without a pause, so the hub queues them all before the socket reads one.
    for _ in range(room_socket.BACKLOG_MAX + 1):
        await typing_announce(course_id=course.pk, username=students[0].username)
    assert await close_code(reader) == room_socket.CLOSE_TOO_SLOW
    await reader.disconnect()


async def test_a_client_gone_while_its_frames_are_delivered_is_not_an_error(room, caplog):
    course, owner, students = room
    gone = asyncio.Event()

    async def daphne_after_the_client_left(scope, receive, send):
        async def send_or_fail(message):
            if gone.is_set():
                raise Disconnected("Attempt to send on a closed protocol")
            await send(message)

        await application()(scope, receive, send_or_fail)

    leaver = await join(course, owner, app=daphne_after_the_client_left)
    sender = await join(course, students[0])
    gone.set()
    with caplog.at_level(logging.WARNING):
        await send(sender, message="still there?")
        assert (await receive_type(sender, "message"))["message"] == "still there?"
        await send(sender, type="typing")
        await send(sender, type="ping")
        await receive_type(sender, "pong")
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == []
    await leaver.disconnect()
    await sender.disconnect()


async def test_a_replay_the_database_refuses_while_the_socket_connects_is_retried(
    room, monkeypatch, caplog
):
    monkeypatch.setattr(room_socket, "CATCH_UP_RETRY", 0.1)
    course, owner, students = room

    def messages_add():
        for index in range(3):
            message_create(author=owner, course=course, text=f"before {index}")

    def messages_table_rename(old, new):
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {old} RENAME TO {new}")  # noqa: S608 - fixed names

    await database_sync_to_async(messages_add)()
    await database_sync_to_async(messages_table_rename)("chat_message", "chat_message_away")
    try:
        with caplog.at_level(logging.WARNING):
            reader = await join(course, students[0], after=0)
            async with asyncio.timeout(3):
                while not any("catch-up postponed" in r.getMessage() for r in caplog.records):
                    await asyncio.sleep(0.01)
    finally:
        await database_sync_to_async(messages_table_rename)("chat_message_away", "chat_message")
    seqs = [(await receive_type(reader, "message"))["seq"] for _ in range(3)]
    assert seqs == [1, 2, 3]
    await reader.disconnect()
