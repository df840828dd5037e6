"""PostgreSQL stopped under a live Daphne: quick 503s, error frames, no loss, recovery.

The stack has a PostgreSQL cluster of its own (stopping the suite's would break other tests),
migrated and seeded by `manage.py` in subprocesses, as a deployment would be.
"""

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from deploy.processes import AsgiServer, PostgresServer

BASE_DIR = Path(__file__).resolve().parent.parent.parent
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
client = Client()
client.force_login(student)
print(json.dumps({
    "course": course.pk,
    "course_url": course.get_absolute_url(),
    "session": client.cookies["sessionid"].value,
    "token": Token.objects.create(user=student).key,
}))
"""


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


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
