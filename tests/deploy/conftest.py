"""Shared by the deployment tests: the rendered Nginx template, the Compose file, and the
native production stack (python -m deploy.native) with the helpers that drive it like a client."""

import asyncio
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from ruamel.yaml import YAML
from websockets.asyncio.client import connect

from deploy.processes import free_ports

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "nginx" / "educa.conf.template"
RENDER = ROOT / "nginx" / "render.sh"


def render_nginx(tmp_path: Path, **env: str) -> str:
    """The template as nginx/render.sh renders it with `env` (and its own defaults)."""
    output = tmp_path / "nginx.conf"
    clean = {key: value for key, value in os.environ.items() if not key.startswith("NGINX_")}
    clean.pop("UPLOAD_MAX_BYTES", None)
    clean["NGINX_TEMP_DIR"] = str(tmp_path / "temp")
    subprocess.run(
        ["sh", str(RENDER), str(TEMPLATE), str(output)],
        env={**clean, **env},
        check=True,
        capture_output=True,
    )
    return output.read_text()


@pytest.fixture(scope="session")
def compose() -> dict:
    return YAML(typ="safe").load((ROOT / "docker-compose.prod.yml").read_text())


@pytest.fixture
def compose_nginx_conf(compose, tmp_path) -> str:
    """The template rendered with the environment Compose gives the nginx service."""
    # Values Compose interpolates from .env are left to render.sh's defaults.
    env = {
        key: str(value)
        for key, value in compose["services"]["nginx"]["environment"].items()
        if not str(value).startswith("${")
    }
    return render_nginx(tmp_path, **env)


# --- The native production stack ----------------------------------------------------------------
#
# PostgreSQL, Redis, Memcached, uWSGI, two Daphne processes and Nginx with the rendered template
# and a self-signed certificate, on free loopback ports in a temp folder, booted once per test
# module by the same script `make prod` runs. Tests drive it the way clients do, over HTTPS and
# WSS, and read the servers' own logs to tell who served what.

NATIVE = [sys.executable, "-m", "deploy.native"]
UPLOAD_MAX_BYTES = 1024 * 1024
FILE_BYTES = b"%PDF-1.4\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"
WS_TIMEOUT = 10

# Variables of the developer's or the suite's own environment that must not leak into the stack.
LEAKY_PREFIXES = ("DJANGO_", "NGINX_", "PROD_", "WEB_", "DAPHNE_", "CHAT_")
LEAKY_NAMES = {
    "DATABASE_URL", "REDIS_URL", "MEMCACHED_LOCATION", "EMAIL_URL", "PARENT_HOST",
    "UPLOAD_MAX_BYTES", "MEDIA_ACCEL_REDIRECT_PREFIX", "ADMINS",
}  # fmt: skip

SEED = """
import json
from django.contrib.auth.models import Group, User
from django.core.files.base import ContentFile
from django.test import Client
from courses.models import Content, Course, File, Module, Subject
from students.models import Enrollment

def session(user):
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value

instructor = User.objects.create_user("teacher", "teacher@example.com", "pass-word-123")
instructor.groups.add(Group.objects.get(name="Instructors"))
student = User.objects.create_user("pupil", "pupil@example.com", "pass-word-123")
other = User.objects.create_user("pupil2", "pupil2@example.com", "pass-word-123")
outsider = User.objects.create_user("stranger", "stranger@example.com", "pass-word-123")
subject, _ = Subject.objects.get_or_create(slug="programming", defaults={"title": "Programming"})
course = Course.objects.create(
    owner=instructor, subject=subject, title="Native stack", slug="native-stack",
    overview="Served by Nginx.", status=Course.Status.PUBLISHED,
)
module = Module.objects.create(course=course, title="Module one")
item = File.objects.create(
    owner=instructor, title="Notes", file=ContentFile(FILE_BYTES, name="notes.pdf")
)
content = Content.objects.create(module=module, item=item)
Enrollment.objects.create(student=student, course=course)
Enrollment.objects.create(student=other, course=course)
print("SEED:" + json.dumps({
    "course_id": course.pk, "course_slug": course.slug, "course_overview": course.overview,
    "subject_id": subject.pk, "module_id": module.pk, "content_id": content.pk,
    "stored_name": item.file.name,
    "sessions": {
        "instructor": session(instructor), "student": session(student),
        "other": session(other), "outsider": session(outsider),
    },
}))
"""


@dataclass
class NativeStack:
    directory: Path
    state_dir: Path
    env: dict
    cafile: Path

    @property
    def state(self) -> dict:
        return json.loads((self.state_dir / "stack.json").read_text())

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.state['ports']['https']}"

    @property
    def wss(self) -> str:
        return f"wss://127.0.0.1:{self.state['ports']['https']}"

    def log(self, name: str) -> str:
        """A server's log; for a service of several instances (uwsgi), all of theirs."""
        logs = self.state_dir / "logs"
        paths = [logs / f"{name}.log"] if (logs / f"{name}.log").exists() else []
        paths += sorted(logs.glob(f"{name}-*.log"))
        return "".join(path.read_text(errors="replace") for path in paths)

    def log_line(self, name: str, text: str, timeout: float = 5) -> str | None:
        """The first line of a server's log that contains `text`, waiting for it to be written
        (servers log a request after answering it)."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.log(name).splitlines():
                if text in line:
                    return line
            if time.monotonic() > deadline:
                return None
            time.sleep(0.1)

    def native(self, *arguments: str, timeout: float = 120) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [*NATIVE, "--state-dir", str(self.state_dir), *arguments],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        assert result.returncode == 0, f"deploy.native {arguments}:\n{result.stdout}{result.stderr}"
        return result

    @contextmanager
    def stopped(self, service: str):
        """`service` stopped for the block, started again however the block ends."""
        self.native("service-stop", service)
        try:
            yield
        finally:
            self.native("service-start", service)

    def shell(self, code: str, marker: str) -> dict:
        """Runs Python code with manage.py shell in the stack's environment; returns its JSON."""
        output = self.native("manage", "shell", "-c", code).stdout
        lines = [line for line in output.splitlines() if line.startswith(marker)]
        assert lines, f"no {marker} line in:\n{output}"
        return json.loads(lines[0].removeprefix(marker))

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cafile))

    def client(self, session: str | None = None, *, local_address: str | None = None):
        """An HTTPS client of Nginx; `local_address` binds its sockets to another loopback
        address (127.0.0.2, ...), so that Nginx sees a different client."""
        transport = httpx.HTTPTransport(verify=self.ssl_context(), local_address=local_address)
        client = httpx.Client(base_url=self.url, transport=transport, trust_env=False, timeout=30)
        if session:
            client.cookies.set("sessionid", session)
        return client

    def post_form(
        self, client: httpx.Client, path: str, data: dict, *, files=None, headers=None
    ) -> httpx.Response:
        """Submits the form at `path` as a browser would: its CSRF token, Origin and Referer."""
        page = client.get(path)
        assert page.status_code == 200, (path, page.status_code)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
        return client.post(
            path,
            data={**data, "csrfmiddlewaretoken": token},
            files=files,
            headers={"Origin": self.url, "Referer": f"{self.url}{path}", **(headers or {})},
        )


def log_tails(directory: Path, lines: int = 15) -> str:
    """The end of every log of a stack that failed to start, for the failure message."""
    return "\n".join(
        f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
        for log in sorted(directory.glob("*.log"))
    )


@pytest.fixture(scope="module")
def stack():
    # Not pytest's tmp_path: its folders are 0700, and PostgreSQL and Nginx's workers run as
    # other users that must reach theirs.
    directory = Path(tempfile.mkdtemp(prefix="educa-native-"))
    directory.chmod(0o755)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(LEAKY_PREFIXES) and key not in LEAKY_NAMES
    }
    http_port, https_port = free_ports(2)
    env.update(
        {
            "PROD_HTTP_PORT": str(http_port),
            "PROD_HTTPS_PORT": str(https_port),
            "PROD_CERT_DIR": str(directory / "certs"),
            "UPLOAD_MAX_BYTES": str(UPLOAD_MAX_BYTES),
            "WEB_PROCESSES": "2",
            "WEB_THREADS": "2",
            "NGINX_WORKER_PROCESSES": "2",
        }
    )
    native = NativeStack(directory, directory / "state", env, directory / "certs" / "educa.crt")
    try:
        native.native("cert", "--out", str(directory / "certs"))
        try:
            native.native("start", timeout=240)
        except AssertionError as failure:
            raise AssertionError(f"{failure}\n{log_tails(native.state_dir / 'logs')}") from None
        yield native
    finally:
        subprocess.run(
            [*NATIVE, "--state-dir", str(native.state_dir), "stop"],
            cwd=ROOT, env=env, capture_output=True, timeout=120,
        )  # fmt: skip
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def seed(stack):
    return stack.shell(SEED.replace("FILE_BYTES", repr(FILE_BYTES)), "SEED:")


async def open_room(stack: NativeStack, seed: dict, who: str, *, after: int | None = None):
    """A browser's socket to the seeded course's room: `who`'s session cookie and our Origin."""
    query = "" if after is None else f"?after={after}"
    return await connect(
        f"{stack.wss}/ws/chat/room/{seed['course_id']}/{query}",
        ssl=stack.ssl_context(),
        origin=stack.url,
        additional_headers={"Cookie": f"sessionid={seed['sessions'][who]}"},
        proxy=None,
        open_timeout=WS_TIMEOUT,
    )


async def next_message(ws, text: str) -> dict:
    """The first `message` frame carrying `text`; presence and other frames are skipped."""
    async with asyncio.timeout(WS_TIMEOUT):
        while True:
            frame = json.loads(await ws.recv())
            if frame.get("type") == "message" and frame.get("message") == text:
                return frame


def upstreams_of(access_log: str, path: str, query: str = r"\S*") -> list[str]:
    """The upstream of each WebSocket to `path` in Nginx's log (written when it closes); `query`
    is a pattern for what follows the path ("" for sockets opened without a query string)."""
    pattern = rf'"GET {re.escape(path)}{query} HTTP/1.1" 101 .*upstream=(\S+)'
    return re.findall(pattern, access_log)


async def socket_upstreams(
    stack: NativeStack, path: str, *, skip: int, count: int, query: str = r"\S*"
) -> list[str]:
    """The upstreams of the sockets to `path` logged after the first `skip`, once `count` of
    them are logged (or after 5 s): Nginx writes a WebSocket's line when it closes."""
    for _ in range(50):
        upstreams = upstreams_of(stack.log("nginx-access"), path, query)[skip:]
        if len(upstreams) >= count:
            break
        await asyncio.sleep(0.1)
    return upstreams
