"""SIGTERM drains a real Daphne process: unready, no new sockets, what it received stored and
acknowledged, every socket closed with 1012, then it exits."""

import asyncio
import json
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import psycopg
import pytest
from channels.db import database_sync_to_async
from django.db import connection
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from chat.models import Message, Room
from deploy.processes import AsgiServer
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


async def test_sigterm_closes_sockets_with_1012_and_every_message_stored_was_acknowledged(
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
    # Frames that reach the process after the drain began are dropped unstored (the client
    # resends them elsewhere); whatever was stored, its sender heard of.
    assert stored == acknowledged


@dataclass
class MidDrain:
    """A Daphne held in its drain by a message it is storing into a locked room."""

    server: AsgiServer
    ws: object
    token: str
    release: Callable[[], None]


@pytest.fixture
async def mid_drain(daphne, course):
    token = await database_sync_to_async(member_token)(course)
    await database_sync_to_async(Room.objects.create)(course=course)
    db = connection.settings_dict
    # Another connection locks the room's counter row: the message waits in the writer.
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"],
        dbname=db["NAME"],
    ) as locker:  # fmt: skip
        async with room_socket(daphne, course.pk, token) as ws:
            assert json.loads(await ws.recv())["type"] == "presence"
            locker.execute("SELECT 1 FROM chat_room WHERE course_id = %s FOR UPDATE", [course.pk])
            await ws.send(json.dumps({"message": "in flight", "client_id": "in-flight"}))
            await asyncio.sleep(0.5)
            os.kill(daphne.process.pid, signal.SIGTERM)
            await asyncio.sleep(0.5)
            yield MidDrain(daphne, ws, token, locker.rollback)
            locker.rollback()


async def test_a_message_being_stored_when_the_drain_begins_is_acknowledged_before_1012(
    mid_drain,
):
    mid_drain.release()
    frames, code = await frames_until_closed(mid_drain.ws)
    assert [frame["client_id"] for frame in frames if frame["type"] == "message"] == ["in-flight"]
    assert code == 1012


async def test_a_draining_daphne_answers_readyz_with_503(mid_drain):
    async with httpx.AsyncClient(base_url=mid_drain.server.url, trust_env=False) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["status"] == "draining"


async def test_a_draining_daphne_refuses_new_sockets(mid_drain, course):
    with pytest.raises(InvalidStatus) as refused:
        async with room_socket(mid_drain.server, course.pk, mid_drain.token):
            pass
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
