"""A rolling restart of the native stack loses nothing: each uWSGI and each Daphne is stopped and
started in turn (the stack's own service-stop / service-start) while clients chat over token
sockets and browse pages and the API through Nginx.

Daphne drains on SIGTERM (closing its sockets with 1012 after storing what they sent); Nginx
passes refused connections and a draining Daphne's refusals to the other instance. The clients
behave as the browser's does: reconnect at once with ?after=<last seq>, resend what was not
acknowledged with its client_id.
"""

import asyncio
import contextlib
import json
import random
from dataclasses import dataclass, field

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from tests.deploy.conftest import NativeStack

CLIENTS = 6
SEND_INTERVAL = 1.0
RESTARTED = ("uwsgi-1", "uwsgi-2", "daphne-1", "daphne-2")
PAGES = ("/", "/course/rolling-restart/")
API = "/api/courses/"
# Every this many rounds of pages, an API request (the token's throttle allows 300 a minute).
API_EVERY = 5
SETTLE_TIMEOUT = 30

SEED = """
import json
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from courses.models import Course, Subject
from students.models import Enrollment

instructor = User.objects.create_user("rolling-teacher", "rt@example.com", "pass-word-123")
instructor.groups.add(Group.objects.get(name="Instructors"))
subject, _ = Subject.objects.get_or_create(slug="rolling", defaults={"title": "Rolling"})
course = Course.objects.create(
    owner=instructor, subject=subject, title="Rolling restart", slug="rolling-restart",
    overview="Served throughout.", status=Course.Status.PUBLISHED,
)
tokens = []
for number in range(CLIENTS):
    student = User.objects.create_user(f"roller{number}", f"r{number}@example.com", "pw-123-abc")
    Enrollment.objects.create(student=student, course=course)
    tokens.append(Token.objects.create(user=student).key)
print("SEED:" + json.dumps({"course_id": course.pk, "tokens": tokens}))
"""

STORED = """
import json
from chat.models import Message
print("STORED:" + json.dumps(list(
    Message.objects.filter(room_id=COURSE_ID).order_by("seq").values_list("seq", "client_id")
)))
"""


@dataclass
class ChatClient:
    """One member's socket, reconnected whenever the server closes it."""

    number: int
    token: str
    last_seq: int = 0
    sent: int = 0
    pending: dict = field(default_factory=dict)  # client_id -> text, not yet acknowledged
    acknowledged: set = field(default_factory=set)
    seqs: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    close_codes: list = field(default_factory=list)
    ws: object = None

    def receive(self, frame: dict) -> None:
        if frame.get("type") != "message":
            return
        mine = frame["client_id"] in self.pending or frame["client_id"] in self.acknowledged
        if mine:
            self.acknowledged.add(frame["client_id"])
            self.pending.pop(frame["client_id"], None)
        if frame["seq"] <= self.last_seq:
            # A resend's answer repeats the stored message; anything else is a duplicate.
            if not mine:
                self.problems.append(f"duplicate seq {frame['seq']}")
            return
        if frame["seq"] != self.last_seq + 1:
            self.problems.append(f"gap: {self.last_seq} then {frame['seq']}")
        self.last_seq = frame["seq"]
        self.seqs.append(frame["seq"])


async def run_client(native: NativeStack, course_id: int, client: ChatClient, stop) -> None:
    url = f"{native.wss}/ws/chat/room/{course_id}/"
    while not stop.is_set():
        try:
            async with connect(
                f"{url}?after={client.last_seq}",
                ssl=native.ssl_context(),
                additional_headers={"Authorization": f"Token {client.token}"},
                proxy=None,
                open_timeout=10,
            ) as ws:
                client.ws = ws
                for client_id, text in list(client.pending.items()):
                    await ws.send(json.dumps({"message": text, "client_id": client_id}))
                async for raw in ws:
                    client.receive(json.loads(raw))
        except ConnectionClosed as closed:
            client.close_codes.append(closed.rcvd.code if closed.rcvd else None)
        except (OSError, InvalidHandshake) as error:
            client.problems.append(f"handshake failed: {error!r}")
        finally:
            client.ws = None
        # At once, with jitter, as the browser client does.
        await asyncio.sleep(random.uniform(0, 0.2))  # noqa: S311


async def send_messages(client: ChatClient, until) -> None:
    while True:
        await asyncio.sleep(SEND_INTERVAL)
        # Checked after the pause: nothing is sent once the scenario has stopped sending.
        if until.is_set():
            return
        client_id = f"{client.number}-{client.sent}"
        client.sent += 1
        client.pending[client_id] = f"message {client_id}"
        if client.ws is not None:
            # A socket closing meanwhile: the message is resent on reconnect.
            with contextlib.suppress(ConnectionClosed):
                await client.ws.send(
                    json.dumps({"message": client.pending[client_id], "client_id": client_id})
                )


async def browse(native: NativeStack, token: str, until, failures: list, served: list) -> None:
    transport = httpx.AsyncHTTPTransport(verify=native.ssl_context())
    async with httpx.AsyncClient(
        base_url=native.url, transport=transport, trust_env=False, timeout=30
    ) as client:
        rounds = 0
        while not until.is_set():
            rounds += 1
            for path in PAGES if rounds % API_EVERY else (*PAGES, API):
                headers = {"Authorization": f"Token {token}"} if path == API else {}
                for method in ("GET", "HEAD"):
                    try:
                        response = await client.request(method, path, headers=headers)
                    except httpx.HTTPError as error:
                        failures.append(f"{method} {path}: {error!r}")
                        continue
                    if response.status_code != 200:
                        failures.append(f"{method} {path}: {response.status_code}")
                    served.append(path)
            await asyncio.sleep(0.1)


def test_restarting_each_uwsgi_and_daphne_in_turn_loses_no_request_and_no_message(stack):
    seed = stack.shell(SEED.replace("CLIENTS", str(CLIENTS)), "SEED:")
    clients = [ChatClient(number, token) for number, token in enumerate(seed["tokens"])]
    failures: list[str] = []
    served: list[str] = []

    async def scenario():
        stop_sending, stop_browsing, stop_clients = (asyncio.Event() for _ in range(3))
        tasks = [
            asyncio.create_task(run_client(stack, seed["course_id"], client, stop_clients))
            for client in clients
        ]
        senders = [asyncio.create_task(send_messages(client, stop_sending)) for client in clients]
        browsing = asyncio.create_task(
            browse(stack, seed["tokens"][0], stop_browsing, failures, served)
        )
        await asyncio.sleep(2)
        for name in RESTARTED:
            await asyncio.to_thread(stack.native, "service-stop", name)
            await asyncio.to_thread(stack.native, "service-start", name)
            await asyncio.sleep(1)
        stop_sending.set()
        stop_browsing.set()
        await asyncio.gather(*senders)
        await browsing
        async with asyncio.timeout(SETTLE_TIMEOUT):
            while any(client.pending for client in clients):
                await asyncio.sleep(0.2)
        stored = await asyncio.to_thread(
            stack.shell, STORED.replace("COURSE_ID", str(seed["course_id"])), "STORED:"
        )
        async with asyncio.timeout(SETTLE_TIMEOUT):
            while any(client.last_seq < len(stored) for client in clients):
                await asyncio.sleep(0.2)
        stop_clients.set()
        for client in clients:
            if client.ws is not None:
                await client.ws.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return stored

    stored = asyncio.run(scenario())
    assert failures == []
    assert len(served) > 50
    sent = {f"{client.number}-{n}" for client in clients for n in range(client.sent)}
    assert sorted(client_id for _, client_id in stored) == sorted(sent)
    assert [seq for seq, _ in stored] == list(range(1, len(stored) + 1))
    for client in clients:
        assert client.problems == []
        assert client.seqs == list(range(1, len(stored) + 1))
    # Every socket went through at least one of the Daphne restarts.
    assert all(1012 in client.close_codes for client in clients)
