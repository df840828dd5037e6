"""The native production stack, booted once by the same script `make prod` runs.

PostgreSQL, Redis, Memcached, uWSGI, two Daphne processes and Nginx with the rendered template
and a self-signed certificate, on free loopback ports in a temp folder. The tests drive it the
way clients do, over HTTPS and WSS, and read the servers' own logs to tell who served what.
"""

import asyncio
import hashlib
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
NATIVE = ROOT / "deploy" / "native.py"
UPLOAD_MAX_BYTES = 1024 * 1024
NGINX_BODY_CAP = UPLOAD_MAX_BYTES + 1024 * 1024
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
    "course_id": course.pk, "course_slug": course.slug, "module_id": module.pk,
    "content_id": content.pk, "stored_name": item.file.name,
    "sessions": {
        "instructor": session(instructor), "student": session(student),
        "other": session(other), "outsider": session(outsider),
    },
}))
"""

SNAPSHOT = """
import json
from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder

def rows(label, *fields):
    model = apps.get_model(label)
    return list(model.objects.order_by("pk").values(*fields))

print("SNAPSHOT:" + json.dumps({
    "courses": rows("courses.Course", "id", "title", "slug", "owner__username", "status"),
    "modules": rows("courses.Module", "id", "course_id", "title", "order"),
    "enrollments": rows("students.Enrollment", "student__username", "course_id", "created"),
    "messages": rows("chat.Message", "room_id", "seq", "user__username", "text", "created"),
}, cls=DjangoJSONEncoder))
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
        return (self.state_dir / "logs" / f"{name}.log").read_text(errors="replace")

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
            [sys.executable, str(NATIVE), "--state-dir", str(self.state_dir), *arguments],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        assert result.returncode == 0, f"native.py {arguments}:\n{result.stdout}{result.stderr}"
        return result

    def shell(self, code: str, marker: str) -> dict:
        """Runs Python code with manage.py shell in the stack's environment; returns its JSON."""
        output = self.native("manage", "shell", "-c", code).stdout
        lines = [line for line in output.splitlines() if line.startswith(marker)]
        assert lines, f"no {marker} line in:\n{output}"
        return json.loads(lines[0].removeprefix(marker))

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cafile))

    def client(self, session: str | None = None) -> httpx.Client:
        client = httpx.Client(
            base_url=self.url, verify=self.ssl_context(), trust_env=False, timeout=30
        )
        if session:
            client.cookies.set("sessionid", session)
        return client


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
    env.update(
        {
            "PROD_HTTP_PORT": str(free_port()),
            "PROD_HTTPS_PORT": str(free_port()),
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
            [sys.executable, str(NATIVE), "--state-dir", str(native.state_dir), "stop"],
            cwd=ROOT, env=env, capture_output=True, timeout=120,
        )  # fmt: skip
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def seed(stack):
    return stack.shell(SEED.replace("FILE_BYTES", repr(FILE_BYTES)), "SEED:")


def ws_headers(session: str) -> dict:
    return {"Cookie": f"sessionid={session}"}


async def open_room(stack: NativeStack, seed: dict, who: str):
    return await connect(
        f"{stack.wss}/ws/chat/room/{seed['course_id']}/",
        ssl=stack.ssl_context(),
        origin=stack.url,
        additional_headers=ws_headers(seed["sessions"][who]),
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


def upstreams_of(access_log: str, path: str) -> list[str]:
    return re.findall(rf'"GET {re.escape(path)}\S* HTTP/1.1" 101 .*upstream=(\S+)', access_log)


# --- HTTPS, static files and the HTTP redirect ------------------------------------------------


def test_pages_are_served_by_uwsgi_through_nginx(stack, seed):
    probe = uuid.uuid4().hex
    with stack.client() as client:
        response = client.get(f"/?probe={probe}")
    assert response.status_code == 200
    assert response.headers["server"] == "nginx"
    assert response.headers.get_list("strict-transport-security") == [
        "max-age=31536000; includeSubDomains; preload"
    ]
    assert stack.log_line("uwsgi", f"/?probe={probe}")


def test_https_offers_http2_over_tls_1_2_or_newer(stack):
    context = stack.ssl_context()
    context.set_alpn_protocols(["h2", "http/1.1"])
    address = ("127.0.0.1", stack.state["ports"]["https"])
    with (
        socket.create_connection(address, timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        assert tls.selected_alpn_protocol() == "h2"
        assert tls.version() in {"TLSv1.2", "TLSv1.3"}


def test_static_files_are_served_by_nginx_itself(stack):
    manifest = json.loads((stack.state_dir / "static" / "staticfiles.json").read_text())
    hashed = manifest["paths"]["css/base.css"]
    probe = uuid.uuid4().hex
    with stack.client() as client:
        response = client.get(
            f"/static/{hashed}?probe={probe}", headers={"Accept-Encoding": "gzip"}
        )
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert "immutable" in response.headers["cache-control"]
    assert "max-age=31536000" in response.headers["cache-control"]
    # Nginx's access log shows no upstream for it, and uWSGI never logged it.
    line = stack.log_line("nginx-access", probe)
    assert line and "upstream=- " in line
    assert probe not in stack.log("uwsgi")


def test_plain_http_redirects_to_https(stack):
    http_port, https_port = stack.state["ports"]["http"], stack.state["ports"]["https"]
    with httpx.Client(trust_env=False) as client:
        response = client.get(f"http://127.0.0.1:{http_port}/course/mine/?page=2")
    assert response.status_code == 301
    assert response.headers["location"] == f"https://127.0.0.1:{https_port}/course/mine/?page=2"


# --- WebSockets through Nginx to Daphne ----------------------------------------------------------


async def test_clients_on_different_daphne_processes_chat_through_redis(stack, seed):
    path = f"/ws/chat/room/{seed['course_id']}/"
    before = len(upstreams_of(stack.log("nginx-access"), path))
    text = f"across daphnes {uuid.uuid4().hex}"
    first = await open_room(stack, seed, "student")
    # least_conn: with the first socket open on one Daphne, the next goes to the other. First
    # of the WebSocket tests, so that both Daphne processes start their room from scratch.
    second = await open_room(stack, seed, "other")
    try:
        await first.send(json.dumps({"message": text}))
        received = await next_message(second, text)
    finally:
        await first.close()
        await second.close()
    assert received["user"] == "pupil"
    # Nginx writes a WebSocket's log line when it closes.
    for _ in range(50):
        upstreams = upstreams_of(stack.log("nginx-access"), path)[before:]
        if len(upstreams) >= 2:
            break
        await asyncio.sleep(0.1)
    daphnes = {f"127.0.0.1:{port}" for port in stack.state["ports"]["daphne"]}
    assert len(upstreams) == 2
    assert set(upstreams) == daphnes


async def test_websocket_round_trips_a_message_through_nginx(stack, seed):
    text = f"hello over wss {uuid.uuid4().hex}"
    ws = await open_room(stack, seed, "student")
    try:
        await ws.send(json.dumps({"message": text}))
        frame = await next_message(ws, text)
    finally:
        await ws.close()
    assert frame["user"] == "pupil"
    assert frame["seq"] >= 1


# --- Uploads: the form's limit, then Nginx's cap -----------------------------------------------


def post_file(stack: NativeStack, seed: dict, size: int) -> httpx.Response:
    form_path = f"/course/module/{seed['module_id']}/content/file/create/"
    with stack.client(seed["sessions"]["instructor"]) as client:
        page = client.get(form_path)
        assert page.status_code == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
        return client.post(
            form_path,
            data={"title": f"Upload of {size} bytes", "csrfmiddlewaretoken": token},
            files={"file": ("data.bin", b"x" * size, "application/octet-stream")},
            headers={"Origin": stack.url, "Referer": f"{stack.url}{form_path}"},
        )


def test_upload_just_under_the_limit_is_accepted(stack, seed):
    response = post_file(stack, seed, UPLOAD_MAX_BYTES - 1024)
    assert response.status_code == 302
    assert response.headers["location"].endswith(f"/course/module/{seed['module_id']}/")


def test_upload_just_over_the_limit_gets_the_form_error(stack, seed):
    response = post_file(stack, seed, UPLOAD_MAX_BYTES + 1024)
    assert response.status_code == 200
    assert "the limit is" in response.text


def test_body_over_nginx_cap_is_refused_with_413(stack, seed):
    response = post_file(stack, seed, NGINX_BODY_CAP + 64 * 1024)
    assert response.status_code == 413
    assert response.headers["server"] == "nginx"


# --- Course files: Django checks, Nginx sends ---------------------------------------------------


def test_course_file_is_refused_to_a_non_member(stack, seed):
    with stack.client(seed["sessions"]["outsider"]) as client:
        response = client.get(f"/course/content/{seed['content_id']}/file/")
    assert response.status_code in {403, 404}
    assert FILE_BYTES not in response.content


def test_course_file_bytes_reach_an_enrolled_student_from_nginx(stack, seed):
    with stack.client(seed["sessions"]["student"]) as client:
        response = client.get(f"/course/content/{seed['content_id']}/file/")
    assert response.status_code == 200
    assert hashlib.sha256(response.content).digest() == hashlib.sha256(FILE_BYTES).digest()
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "x-accel-redirect" not in response.headers
    # Nginx's static file handler answered: it sets ETag and byte ranges, Django's view does not.
    assert response.headers["accept-ranges"] == "bytes"
    assert "etag" in response.headers


def test_internal_media_location_is_unreachable_directly(stack, seed):
    with stack.client(seed["sessions"]["student"]) as client:
        internal = client.get(f"/protected-media/{seed['stored_name']}")
        public = client.get(f"/media/{seed['stored_name']}")
    assert internal.status_code == 404
    assert public.status_code == 404
    assert FILE_BYTES not in internal.content + public.content


# --- Health and readiness -------------------------------------------------------------------


def test_healthz_answers_200(stack):
    with stack.client() as client:
        response = client.get("/healthz")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("service", "part"),
    [("redis", "channel_layer"), ("memcached", "cache"), ("postgres", "database")],
)
def test_readyz_names_the_stopped_part(stack, service, part):
    with stack.client() as client:
        assert client.get("/readyz").json()["checks"] == {
            "database": "ok",
            "cache": "ok",
            "channel_layer": "ok",
        }
        stack.native("service-stop", service)
        try:
            response = client.get("/readyz")
        finally:
            stack.native("service-start", service)
        assert response.status_code == 503
        assert response.json()["failing"] == [part]
        assert client.get("/readyz").status_code == 200


def test_container_healthchecks_reach_uwsgi_and_daphne(stack):
    ports = stack.state["ports"]
    checks = [("uwsgi", ports["uwsgi"])] + [("http", port) for port in ports["daphne"]]
    env = {**stack.env, **stack.state["app_env"]}
    for protocol, port in checks:
        result = subprocess.run(
            [sys.executable, str(ROOT / "deploy" / "healthcheck.py"), protocol,
             f"127.0.0.1:{port}", "/healthz"],
            env=env, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert result.returncode == 0, (protocol, port, result.stderr)


# --- Backups ------------------------------------------------------------------------------


async def test_backup_wipe_restore_keeps_courses_enrollments_and_chat(stack, seed):
    text = f"kept by the backup {uuid.uuid4().hex}"
    ws = await open_room(stack, seed, "student")
    try:
        await ws.send(json.dumps({"message": text}))
        await next_message(ws, text)
    finally:
        await ws.close()
    before = stack.shell(SNAPSHOT, "SNAPSHOT:")
    assert before["courses"] and before["enrollments"]
    assert text in [message["text"] for message in before["messages"]]

    backup = stack.directory / "backup"
    stack.native("backup", "--out", str(backup))
    wipe(stack)
    with stack.client(seed["sessions"]["student"]) as client:
        assert client.get(f"/course/{seed['course_slug']}/").status_code != 200

    stack.native("restore", str(backup))
    after = stack.shell(SNAPSHOT, "SNAPSHOT:")
    assert after == before
    with stack.client(seed["sessions"]["student"]) as client:
        assert client.get(f"/course/{seed['course_slug']}/").status_code == 200
        download = client.get(f"/course/content/{seed['content_id']}/file/")
    assert download.content == FILE_BYTES


def wipe(stack: NativeStack) -> None:
    """An empty stack: the database dropped and created again, the media folder emptied."""
    state = stack.state
    bin_dir = max(Path("/usr/lib/postgresql").iterdir(), key=lambda path: int(path.name)) / "bin"
    env = {**stack.env, "PGPASSWORD": state["postgres_password"]}
    connection = ["-h", "127.0.0.1", "-p", str(state["ports"]["postgres"]), "-U", "educa"]
    for statement in ("DROP DATABASE educa WITH (FORCE)", "CREATE DATABASE educa"):
        subprocess.run(
            [str(bin_dir / "psql"), *connection, "-d", "postgres", "-v", "ON_ERROR_STOP=1",
             "-c", statement],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
    media = Path(state["app_env"]["DJANGO_MEDIA_ROOT"])
    for child in media.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()
