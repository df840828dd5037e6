"""SIGTERM drains a real Daphne process: unready, no new sockets, what it received stored and
acknowledged, every socket closed with 1012, then it exits."""

import asyncio
import json
import os
import signal
import threading
import time

import httpx
import pytest
from channels.db import database_sync_to_async
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from chat.models import Message
from educa import draining
from tests.factories import CourseFactory, EnrollmentFactory

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 10
DRAIN_SECONDS = 5


def member_token(course) -> str:
    from rest_framework.authtoken.models import Token

    student = EnrollmentFactory(course=course).student
    return Token.objects.create(user=student).key


def room_socket(server, course_id, token):
    return connect(
        f"{server.ws_url}/ws/chat/room/{course_id}/",
        additional_headers={"Authorization": f"Token {token}"},
        open_timeout=TIMEOUT,
    )


async def frames_until_closed(ws) -> tuple[list[dict], int | None]:
    """Every frame until the server closes the socket, and its close code."""
    frames = []
    try:
        async with asyncio.timeout(TIMEOUT):
            while True:
                frames.append(json.loads(await ws.recv()))
    except ConnectionClosed as closed:
        return frames, closed.rcvd.code if closed.rcvd else None


@pytest.fixture
def daphne(live_asgi_server):
    return live_asgi_server("daphne", CHAT_DRAIN_SECONDS=str(DRAIN_SECONDS))


@pytest.fixture
def course():
    return CourseFactory()


async def test_sigterm_stores_and_acknowledges_what_a_socket_sent_then_closes_it_with_1012(
    daphne, course
):
    token = await database_sync_to_async(member_token)(course)
    async with room_socket(daphne, course.pk, token) as ws:
        assert json.loads(await ws.recv())["type"] == "presence"
        for number in range(20):
            await ws.send(json.dumps({"message": f"m{number}", "client_id": f"c{number}"}))
        os.kill(daphne.process.pid, signal.SIGTERM)
        frames, code = await frames_until_closed(ws)
    assert code == 1012
    acknowledged = {frame["client_id"] for frame in frames if frame["type"] == "message"}
    stored = await database_sync_to_async(
        lambda: set(Message.objects.filter(room_id=course.pk).values_list("client_id", flat=True))
    )()
    assert acknowledged
    assert stored == acknowledged


async def test_a_draining_daphne_answers_readyz_503_and_refuses_new_sockets(daphne, course):
    token = await database_sync_to_async(member_token)(course)
    # A client that never answers the close frame keeps the drain going for autobahn's close
    # handshake timeout, long enough to knock on the door meanwhile.
    reader, writer = await asyncio.open_connection("127.0.0.1", daphne.port)
    writer.write(
        (
            f"GET /ws/chat/room/{course.pk}/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Token {token}\r\n\r\n"
        ).encode()
    )
    async with asyncio.timeout(TIMEOUT):
        assert b" 101 " in await reader.readline()
        assert b'"presence"' in await reader.readuntil(b"]}")
    os.kill(daphne.process.pid, signal.SIGTERM)
    await asyncio.sleep(0.2)
    async with httpx.AsyncClient(base_url=daphne.url, trust_env=False) as client:
        ready = await client.get("/readyz")
    with pytest.raises(InvalidStatus) as refused:
        async with room_socket(daphne, course.pk, token):
            pass
    writer.close()
    assert ready.status_code == 503
    assert ready.json()["status"] == "draining"
    assert refused.value.response.status_code == 403


async def test_a_drained_daphne_exits_within_its_grace_period(daphne, course):
    token = await database_sync_to_async(member_token)(course)
    async with room_socket(daphne, course.pk, token) as ws:
        assert json.loads(await ws.recv())["type"] == "presence"
        started = time.monotonic()
        os.kill(daphne.process.pid, signal.SIGTERM)
        _, code = await frames_until_closed(ws)
    returncode = await asyncio.to_thread(daphne.process.wait, DRAIN_SECONDS + 5)
    assert code == 1012
    assert returncode == 0
    assert time.monotonic() - started < DRAIN_SECONDS


def test_readyz_answers_503_naming_the_drain(client, monkeypatch):
    monkeypatch.setattr(draining, "_draining", threading.Event())
    draining.drain_begin()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "draining", "failing": ["draining"]}
