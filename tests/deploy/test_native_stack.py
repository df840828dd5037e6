"""The native production stack, booted once by the same script `make prod` runs.

PostgreSQL, Redis, Memcached, uWSGI, two Daphne processes and Nginx with the rendered template
and a self-signed certificate, on free loopback ports in a temp folder (the `stack` fixture of
conftest.py). The tests drive it the way clients do, over HTTPS and WSS, and read the servers'
own logs to tell who served what.
"""

import hashlib
import io
import json
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
import websockets
from PIL import Image as PILImage
from websockets.asyncio.client import connect

from students.lockout import LOCKED_OUT
from tests.deploy.conftest import (
    FILE_BYTES,
    ROOT,
    UPLOAD_MAX_BYTES,
    NativeStack,
    next_message,
    open_room,
    socket_upstreams,
    upstreams_of,
)

NGINX_BODY_CAP = UPLOAD_MAX_BYTES + 1024 * 1024

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
    upstreams = await socket_upstreams(stack, path, skip=before, count=2)
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
    with stack.client(seed["sessions"]["instructor"]) as client:
        return stack.post_form(
            client,
            f"/course/module/{seed['module_id']}/content/file/create/",
            {"title": f"Upload of {size} bytes"},
            files={"file": ("data.bin", b"x" * size, "application/octet-stream")},
        )


def test_upload_just_under_the_limit_is_accepted(stack, seed):
    response = post_file(stack, seed, UPLOAD_MAX_BYTES - 1024)
    assert response.status_code == 302
    assert response.headers["location"].endswith(f"/course/module/{seed['module_id']}/")


def test_upload_just_over_the_limit_gets_the_form_error(stack, seed):
    response = post_file(stack, seed, UPLOAD_MAX_BYTES + 1024)
    assert response.status_code == 400
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


# --- Chat attachments: the same permission check, then Nginx sends --------------------------------


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (640, 480), "#0b6bcb").save(buffer, format="PNG")
    return buffer.getvalue()


async def test_a_chat_attachment_reaches_another_member_from_nginx_and_no_one_else(stack, seed):
    with stack.client() as client:
        token = client.post(
            "/api/token/", json={"username": "pupil", "password": "pass-word-123"}
        ).json()["token"]
        uploaded = client.post(
            f"/api/courses/{seed['course_id']}/attachments/",
            headers={"Authorization": f"Token {token}"},
            files={"file": ("diagram.png", png_bytes(), "image/png")},
        )
    assert uploaded.status_code == 201, uploaded.text
    attachment = uploaded.json()
    ws = await open_room(stack, seed, "student")
    text = f"attached {uuid.uuid4().hex}"
    await ws.send(json.dumps({"message": text, "attachments": [attachment["id"]]}))
    frame = await next_message(ws, text)
    await ws.close()
    assert frame["attachments"] == [attachment]

    with stack.client(seed["sessions"]["other"]) as client:
        image = client.get(attachment["url"])
        thumbnail = client.get(attachment["thumbnail_url"])
    with stack.client(seed["sessions"]["outsider"]) as client:
        refused = client.get(attachment["url"])

    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.headers["content-disposition"].startswith("attachment")
    assert image.headers["x-content-type-options"] == "nosniff"
    assert "x-accel-redirect" not in image.headers
    # Nginx's static file handler answered: it sets ETag and byte ranges, Django's view does not.
    assert image.headers["accept-ranges"] == "bytes"
    with PILImage.open(io.BytesIO(thumbnail.content)) as small:
        assert small.size == (320, 240)
    assert refused.status_code == 403
    assert image.content not in refused.content


# --- The Host with its port: absolute links and the WebSocket Origin check ------------------------


def test_api_links_keep_the_https_port(stack, seed):
    with stack.client() as client:
        listed = client.get("/api/courses/").json()["results"]
    course = next(course for course in listed if course["id"] == seed["course_id"])
    assert course["url"] == f"{stack.url}/api/courses/{seed['course_id']}/"


@pytest.mark.parametrize(
    "origin",
    ["http://127.0.0.1:{https_port}", "https://127.0.0.1:9999"],
    ids=["http on the https port", "https on another port"],
)
async def test_a_cookie_socket_from_another_origin_of_the_same_host_is_refused(stack, seed, origin):
    with pytest.raises(websockets.InvalidStatus) as refused:
        await connect(
            f"{stack.wss}/ws/chat/room/{seed['course_id']}/",
            ssl=stack.ssl_context(),
            origin=origin.format(https_port=stack.state["ports"]["https"]),
            additional_headers={"Cookie": f"sessionid={seed['sessions']['student']}"},
            proxy=None,
            open_timeout=10,
        )
    assert refused.value.response.status_code == 403


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
        with stack.stopped(service):
            response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["failing"] == [part]
        assert client.get("/readyz").status_code == 200


def test_the_periodic_process_runs_the_mention_e_mails(stack):
    assert stack.log_line("periodic", "mention e-mail(s).", timeout=60) is not None
    assert "Traceback" not in stack.log("periodic")


def test_container_healthchecks_reach_uwsgi_and_daphne(stack):
    ports = stack.state["ports"]
    checks = [("uwsgi", port) for port in ports["uwsgi"]] + [
        ("http", port) for port in ports["daphne"]
    ]
    env = {**stack.env, **stack.state["app_env"]}
    for protocol, port in checks:
        result = subprocess.run(
            [sys.executable, str(ROOT / "deploy" / "healthcheck.py"), protocol,
             f"127.0.0.1:{port}", "/healthz"],
            env=env, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert result.returncode == 0, (protocol, port, result.stderr)


# --- Log-in lock-out: counted under the address Nginx saw, whatever the client claims -----------

PASSWORD = "pass-word-123"
# The stack keeps AXES_FAILURE_LIMIT's default.
FAILURE_LIMIT = 5
# Nginx listens on 127.0.0.1; a client socket bound to another loopback address reaches it from
# there, so Nginx sees a second machine.
ELSEWHERE = "127.0.0.2"

ACCOUNT = """
import json, uuid
from django.contrib.auth.models import User
user = User.objects.create_user("user-" + uuid.uuid4().hex[:12], password="PASSWORD")
print("ACCOUNT:" + json.dumps(user.username))
"""


@pytest.fixture
def account(stack) -> str:
    """The username of a new account whose password is PASSWORD."""
    return stack.shell(ACCOUNT.replace("PASSWORD", PASSWORD), "ACCOUNT:")


def log_in(
    stack: NativeStack,
    username: str,
    password: str,
    *,
    local_address: str | None = None,
    forwarded_for: str | None = None,
) -> httpx.Response:
    """The HTML log-in through Nginx and uWSGI, from a fresh browser."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else None
    with stack.client(local_address=local_address) as client:
        return stack.post_form(
            client,
            "/accounts/login/",
            {"username": username, "password": password},
            headers=headers,
        )


def logged_in(response: httpx.Response) -> bool:
    return response.status_code == 302 and "sessionid" in response.cookies


def test_repeated_failed_log_ins_through_nginx_are_locked_out_with_the_message(stack, account):
    failures = [log_in(stack, account, "wrong-guess") for _ in range(FAILURE_LIMIT)]
    right_password = log_in(stack, account, PASSWORD)

    assert 429 not in [response.status_code for response in failures[:-1]]
    for response in (failures[-1], right_password):
        assert response.status_code == 429
        assert LOCKED_OUT % {"minutes": 15} in response.text
        assert response.headers["retry-after"] == "900"
    assert not logged_in(right_password)


def test_a_forged_forwarded_for_header_cannot_spread_failures_over_addresses(stack):
    username = f"target-{uuid.uuid4().hex[:12]}"
    failures = [
        log_in(stack, username, "wrong-guess", forwarded_for=f"203.0.113.{number}")
        for number in range(1, FAILURE_LIMIT + 1)
    ]

    # Every failure counted under the one address Nginx saw.
    assert failures[-1].status_code == 429


def test_a_forged_forwarded_for_header_cannot_lock_out_the_address_it_names(stack, account):
    failures = [
        log_in(stack, account, "wrong-guess", forwarded_for=ELSEWHERE) for _ in range(FAILURE_LIMIT)
    ]
    from_there = log_in(stack, account, PASSWORD, local_address=ELSEWHERE)

    assert failures[-1].status_code == 429
    assert logged_in(from_there)


def test_failures_from_one_address_leave_the_user_free_to_log_in_from_another(stack, account):
    failures = [log_in(stack, account, "wrong-guess") for _ in range(FAILURE_LIMIT)]
    from_elsewhere = log_in(stack, account, PASSWORD, local_address=ELSEWHERE)

    assert failures[-1].status_code == 429
    assert logged_in(from_elsewhere)


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
