"""PostgreSQL stopped under a live Daphne: quick 503s, error frames, no loss, recovery.

The stack has a PostgreSQL cluster of its own (stopping the suite's would break other tests),
migrated and seeded by `manage.py` in subprocesses, as a deployment would be.
"""

import asyncio
import json
import os
import socket
import threading
import time

import httpx
import pytest
import redis
from websockets.asyncio.client import connect

from deploy.processes import AsgiServer, PostgresServer
from tests.commands import manage

# An answer slower than this while the database is down counts as a hang.
QUICK = 5.0
TIMEOUT = 10

SEED = """
import json
from django.test import Client
from rest_framework.authtoken.models import Token
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory
course = CourseFactory(owner=UserFactory())
student = EnrollmentFactory(course=course).student
other = EnrollmentFactory(course=course).student
client = Client()
client.force_login(student)
print(json.dumps({
    "course": course.pk,
    "course_url": course.get_absolute_url(),
    "session": client.cookies["sessionid"].value,
    "token": Token.objects.create(user=student).key,
    "other_token": Token.objects.create(user=other).key,
}))
"""


@pytest.fixture(scope="module")
def stack():
    """(server, postgres, seed): Daphne on its own migrated and seeded PostgreSQL."""
    postgres = PostgresServer()
    postgres.start()
    env = {
        "DJANGO_SETTINGS_MODULE": "educa.settings.test",
        "DATABASE_URL": postgres.url,
        "REDIS_URL": "",
        "MEMCACHED_LOCATION": "",
    }
    server = AsgiServer("daphne", env)
    try:
        full_env = {**os.environ, **env}
        manage(full_env, "migrate", "--noinput")
        seed = json.loads(manage(full_env, "shell", "-c", SEED).strip().splitlines()[-1])
        server.start()
        yield server, postgres, seed
    finally:
        server.close()
        postgres.close()


@pytest.fixture
def outage(stack):
    """Stops PostgreSQL; it is started again however the test ends."""
    _, postgres, _ = stack

    class Outage:
        def begin(self):
            postgres.stop()

        def end(self):
            if not self.running():
                postgres.start()

        def running(self):
            try:
                with socket.create_connection(("127.0.0.1", postgres.port), timeout=0.5):
                    return True
            except OSError:
                return False

    control = Outage()
    yield control
    control.end()


def pages(seed):
    return [
        ("/", "text/html"),
        (seed["course_url"], "text/html"),
        ("/students/courses/", "text/html"),
        (f"/chat/room/{seed['course']}/", "text/html"),
        ("/api/courses/", "application/json"),
        (f"/api/courses/{seed['course']}/", "application/json"),
    ]


def timed_get(client, path):
    started = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - started


def http_client(server, seed):
    return httpx.Client(
        base_url=server.url,
        cookies={"sessionid": seed["session"]},
        headers={"Authorization": f"Token {seed['token']}"},
        timeout=QUICK * 2,
    )


class Traffic(threading.Thread):
    """Requests the catalogue and the API in a loop, recording (status, seconds) of each."""

    def __init__(self, server, seed):
        super().__init__(daemon=True)
        self.server, self.seed = server, seed
        self.answers: list[tuple[int, float]] = []
        self.done = threading.Event()

    def run(self):
        with http_client(self.server, self.seed) as client:
            while not self.done.is_set():
                for path in ("/", "/api/courses/"):
                    response, elapsed = timed_get(client, path)
                    self.answers.append((response.status_code, elapsed))

    def wait_for(self, status, after=0):
        deadline = time.monotonic() + TIMEOUT
        while status not in [answer for answer, _ in self.answers[after:]]:
            assert time.monotonic() < deadline, f"the traffic got no {status}"
            time.sleep(0.05)

    def stop(self):
        self.done.set()
        self.join(timeout=QUICK * 3)


def test_pages_and_api_answer_503_quickly_while_the_database_is_down(stack, outage):
    server, _, seed = stack
    traffic = Traffic(server, seed)
    traffic.start()
    try:
        with http_client(server, seed) as client:
            for path, _ in pages(seed):
                assert client.get(path).status_code == 200, path
            outage.begin()
            for path, kind in pages(seed):
                response, elapsed = timed_get(client, path)
                assert response.status_code == 503, (path, response.status_code)
                assert elapsed < QUICK, (path, elapsed)
                assert response.headers["content-type"].startswith(kind), path
                assert "try again" in response.text.lower(), path
                assert response.headers["Retry-After"] == "5"
            traffic.wait_for(503)
            # Back without restarting Daphne: the very next requests succeed.
            outage.end()
            for path, _ in pages(seed):
                assert client.get(path).status_code == 200, path
            traffic.wait_for(200, after=len(traffic.answers))
    finally:
        traffic.stop()
    # The traffic across the stop and the restart got answers, never a 500 or a hang.
    assert {status for status, _ in traffic.answers} == {200, 503}
    assert max(elapsed for _, elapsed in traffic.answers) < QUICK


async def next_of(ws, kind):
    async with asyncio.timeout(TIMEOUT):
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == kind:
                return frame


async def say(ws, text):
    await ws.send(json.dumps({"type": "message", "message": text, "client_id": f"id-{text}"}))


async def test_chat_sends_get_an_error_frame_while_the_database_is_down(stack, outage):
    server, _, seed = stack
    async with connect(
        f"{server.ws_url}/ws/chat/room/{seed['course']}/?after=0",
        additional_headers={"Authorization": f"Token {seed['token']}"},
        open_timeout=TIMEOUT,
        close_timeout=1,
    ) as ws:
        await say(ws, "stored before")
        before = await next_of(ws, "message")
        await asyncio.to_thread(outage.begin)

        started = time.monotonic()
        await say(ws, "refused during")
        error = await next_of(ws, "error")
        assert error["code"] == "unavailable"
        assert error["client_id"] == "id-refused during"
        assert time.monotonic() - started < QUICK

        # Back without restarting Daphne: the same socket stores again, and nothing was lost.
        await asyncio.to_thread(outage.end)
        await say(ws, "stored after")
        after = await next_of(ws, "message")
        assert after["seq"] == before["seq"] + 1
        await ws.send(json.dumps({"type": "history", "after": 0}))
        history = await next_of(ws, "history")
    assert [message["message"] for message in history["messages"]] == [
        "stored before",
        "stored after",
    ]


# CHAT_WRITE_TIMEOUT's default, and what a reply may take beyond it on a busy test machine.
WRITE_TIMEOUT = 2.0
MARGIN = 1.0


@pytest.fixture
def pooled_daphne(stack, redis_server):
    """A Daphne as production runs it: psycopg's pool, Redis for the layer and the limits."""
    _, postgres, _ = stack
    redis.Redis.from_url(redis_server.url).flushdb()
    server = AsgiServer(
        "daphne",
        {
            "DJANGO_SETTINGS_MODULE": "educa.settings.test",
            "DATABASE_URL": postgres.url,
            "DJANGO_DB_POOL": "1",
            "REDIS_URL": redis_server.url,
            "MEMCACHED_LOCATION": "",
        },
    )
    server.start()
    yield server
    server.close()


class RecordedSocket:
    """A token socket in the seed's room whose every frame is kept with its arrival time."""

    def __init__(self, ws):
        self.ws = ws
        self.frames: list[tuple[float, dict]] = []
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self):
        async for raw in self.ws:
            self.frames.append((time.monotonic(), json.loads(raw)))

    async def say(self, client_id: str) -> float:
        await self.ws.send(json.dumps({"message": f"text of {client_id}", "client_id": client_id}))
        return time.monotonic()

    def replies(self, client_id: str) -> list[tuple[float, dict]]:
        """Messages and errors carrying the client_id, with their arrival times."""
        return [
            (at, frame)
            for at, frame in self.frames
            if frame["type"] in ("message", "error") and frame.get("client_id") == client_id
        ]

    def has_message(self, client_id: str) -> bool:
        return any(frame["type"] == "message" for _, frame in self.replies(client_id))

    def seqs(self) -> list[int]:
        return [frame["seq"] for _, frame in self.frames if frame["type"] == "message"]

    def error_codes(self) -> list[str]:
        return [frame["code"] for _, frame in self.frames if frame["type"] == "error"]


async def until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


async def test_senders_hear_within_the_write_timeout_and_resends_after_an_outage_are_safe(
    stack, outage, pooled_daphne
):
    _, _, seed = stack
    path = f"{pooled_daphne.ws_url}/ws/chat/room/{seed['course']}/?after=0"
    sockets = []
    for token in (seed["token"], seed["token"], seed["other_token"]):
        ws = await connect(
            path,
            additional_headers={"Authorization": f"Token {token}"},
            open_timeout=TIMEOUT,
            close_timeout=1,
        )
        sockets.append(RecordedSocket(ws))
    first, second, reader = sockets
    try:
        await first.say("before")
        await until(lambda: first.has_message("before"), TIMEOUT, "the first message")
        # The room's earlier messages come first (after=0); 18 follow from this one on.
        last_seq = first.replies("before")[0][1]["seq"] + 17
        await asyncio.to_thread(outage.begin)

        # 16 messages in 4 s from one person's two sockets, while the database is down.
        sent = {}
        for index in range(16):
            socket = (first, second)[index % 2]
            client_id = f"outage-{index}"
            sent[client_id] = (socket, await socket.say(client_id))
            await asyncio.sleep(0.25)
        await until(
            lambda: all(socket.replies(cid) for cid, (socket, _) in sent.items()),
            WRITE_TIMEOUT + MARGIN,
            "a sender heard nothing",
        )
        for client_id, (socket, sent_at) in sent.items():
            replied_at, reply = socket.replies(client_id)[0]
            assert replied_at - sent_at < WRITE_TIMEOUT + MARGIN, client_id
            assert (reply["type"], reply["code"]) == ("error", "unavailable"), reply

        # Back: each client resends what was not confirmed, as the protocol invites, until
        # it holds its message; then once more, as a client that missed the answer would.
        await asyncio.to_thread(outage.end)
        deadline = time.monotonic() + 60
        while missing := [cid for cid, (socket, _) in sent.items() if not socket.has_message(cid)]:
            assert time.monotonic() < deadline, f"never stored: {missing}"
            for client_id in missing:
                await sent[client_id][0].say(client_id)
            await asyncio.sleep(WRITE_TIMEOUT + MARGIN)
        for client_id, (socket, _) in sent.items():
            await socket.say(client_id)
        await first.say("after")
        await until(
            lambda: all(s.seqs() and s.seqs()[-1] == last_seq for s in sockets),
            TIMEOUT,
            "the last message",
        )
        await asyncio.sleep(WRITE_TIMEOUT)
    finally:
        for socket in sockets:
            await socket.ws.close()
            socket.reader.cancel()
    # Every message stored once, and every socket got every seq once, in order, its own
    # messages included; no resend counted against the rate limit.
    for socket in sockets:
        assert socket.seqs() == list(range(1, last_seq + 1))
        assert "rate_limited" not in socket.error_codes()
    for client_id, (socket, _) in sent.items():
        assert [frame["type"] for _, frame in socket.replies(client_id)].count("message") == 1
    received = {frame["client_id"] for _, frame in reader.frames if frame["type"] == "message"}
    assert {"before", "after", *sent} <= received
