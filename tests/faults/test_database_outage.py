"""PostgreSQL stopped under a live Daphne: quick 503s, error frames, no loss, recovery.

The stack has a PostgreSQL cluster of its own (stopping the suite's would break other tests),
migrated and seeded by `manage.py` in subprocesses, as a deployment would be.
"""

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.servers import AsgiServer, PostgresServer

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
    import os

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
        manage(full_env, "createcachetable")
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
            if postgres.process is None and not self.running():
                postgres.start()

        def running(self):
            import socket

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


def get(client, path, seed):
    started = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - started


def test_pages_and_api_answer_503_quickly_while_the_database_is_down(stack, outage):
    server, _, seed = stack
    with httpx.Client(
        base_url=server.url,
        cookies={"sessionid": seed["session"]},
        headers={"Authorization": f"Token {seed['token']}"},
        timeout=QUICK * 2,
    ) as client:
        for path, _ in pages(seed):
            assert client.get(path).status_code == 200, path
        outage.begin()
        for path, kind in pages(seed):
            response, elapsed = get(client, path, seed)
            assert response.status_code == 503, (path, response.status_code, response.text[:300])
            assert elapsed < QUICK, (path, elapsed)
            assert response.headers["content-type"].startswith(kind), path
            assert "try again" in response.text.lower(), path
        outage.end()
        for path, _ in pages(seed):
            assert client.get(path).status_code == 200, path
