"""Chat test helpers: sockets through the real ASGI application, users with sessions or tokens."""

import asyncio
import json
from urllib.parse import urlsplit

import pytest
import redis
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from rest_framework.authtoken.models import Token
from websockets.asyncio.client import connect

from chat.models import Message, Room
from chat.selectors import message_updated_frame
from chat.services import message_create
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory

ORIGIN = "http://localhost"
RECEIVE_TIMEOUT = 3


@pytest.fixture
def chat_redis(settings, redis_channel_layer):
    """The Redis channel layer and Redis-shared chat state, on an empty throwaway redis-server."""
    redis.Redis.from_url(redis_channel_layer.url).flushdb()
    settings.CHAT_REDIS_URL = redis_channel_layer.url
    return redis_channel_layer


@pytest.fixture
def room(db):
    """A published course with its owner and two enrolled students."""
    # A plain owner: transactional tests flush the Instructors group made by a data migration.
    course = CourseFactory(owner=UserFactory())
    students = [EnrollmentFactory(course=course).student for _ in range(2)]
    return course, course.owner, students


class Communicator(WebsocketCommunicator):
    """WebsocketCommunicator that leaves the consumer's database clean-up on.

    Channels' version turns `close_old_connections` off (for tests inside a transaction); these
    tests commit, so connections are closed as in production and none outlives the test.
    """

    async def send_input(self, message):
        return await ApplicationCommunicator.send_input(self, message)

    async def receive_output(self, timeout=1):
        return await ApplicationCommunicator.receive_output(self, timeout)


def session_key_for(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def token_key_for(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def application():
    from educa.asgi import application

    return application


def room_path(course_id, after=None) -> str:
    path = f"/ws/chat/room/{course_id}/"
    return path if after is None else f"{path}?after={after}"


async def open_socket(
    path, *, user=None, session_key=None, token=None, origin=ORIGIN, headers=(), app=None
):
    """A communicator through the real routing (or `app`, wrapping it).

    Cookie auth with `session_key` (or a new session of `user`), header auth with `token`.
    """
    all_headers = list(headers)
    if not any(name == b"host" for name, _ in all_headers):
        # Every browser sends one; the Origin check compares the Origin with it.
        all_headers.append((b"host", urlsplit(ORIGIN).netloc.encode()))
    if origin is not None:
        all_headers.append((b"origin", origin.encode()))
    if user is not None and session_key is None:
        session_key = await database_sync_to_async(session_key_for)(user)
    if session_key is not None:
        all_headers.append((b"cookie", f"sessionid={session_key}".encode()))
    if token is not None:
        all_headers.append((b"authorization", f"Token {token}".encode()))
    communicator = Communicator(app or application(), path, headers=all_headers)
    connected, code = await communicator.connect(timeout=RECEIVE_TIMEOUT)
    return communicator, connected, code


async def join(course, user=None, *, after=None, **kwargs):
    """An accepted socket in the course room, its presence snapshot already read."""
    communicator, connected, _ = await open_socket(room_path(course.pk, after), user=user, **kwargs)
    assert connected
    presence = await communicator.receive_json_from(timeout=RECEIVE_TIMEOUT)
    assert presence["type"] == "presence"
    return communicator


async def receive_until(communicator, predicate, timeout=RECEIVE_TIMEOUT):
    """Frames up to and including the first for which predicate is true."""
    frames = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise AssertionError(f"no matching frame; got {frames}")
        frame = await communicator.receive_json_from(timeout=remaining)
        frames.append(frame)
        if predicate(frame):
            return frames


async def receive_type(communicator, kind, timeout=RECEIVE_TIMEOUT):
    """The next frame of a type, skipping presence and typing notices."""
    frames = await receive_until(communicator, lambda frame: frame["type"] == kind, timeout)
    return frames[-1]


async def send(communicator, **frame):
    await communicator.send_to(text_data=json.dumps(frame))


async def close_code(communicator, timeout=RECEIVE_TIMEOUT):
    """The code the server closed the socket with (other frames before it are skipped)."""
    while True:
        output = await communicator.receive_output(timeout=timeout)
        if output["type"] == "websocket.close":
            return output.get("code")


# --- token clients of a real server process (deploy.processes.AsgiServer) -----------------------

LIVE_TIMEOUT = 10


async def token_of(user) -> str:
    return await database_sync_to_async(token_key_for)(user)


def socket(server, course, token, after=None, rev=None):
    """A websockets connection to the course's room on `server`, with `Authorization: Token`."""
    query = "" if after is None else f"?after={after}"
    if rev is not None:
        query += f"&rev={rev}"
    return connect(
        f"{server.ws_url}/ws/chat/room/{course.pk}/{query}",
        additional_headers={"Authorization": f"Token {token}"},
        open_timeout=LIVE_TIMEOUT,
        close_timeout=1,
    )


async def next_of(ws, kind, timeout=LIVE_TIMEOUT):
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == kind:
                return frame


class ChatClient:
    """What a client knows of the room: each message's latest frame, and where it stands."""

    def __init__(self):
        self.messages: dict[int, dict] = {}
        self.last_seq = self.last_rev = 0

    def apply(self, frame: dict) -> None:
        kind = frame["type"]
        if kind not in ("message", "message.updated", "message.deleted"):
            return
        known = self.messages.get(frame["id"])
        self.last_rev = max(self.last_rev, frame["rev"])
        if kind == "message":
            self.last_seq = max(self.last_seq, frame["seq"])
        if kind == "message.deleted":
            # The tombstone's state comes with the next resume; here only what the frame says.
            known.update(deleted=True, message=None, rev=frame["rev"])
        elif known is None or frame["rev"] >= known["rev"]:
            self.messages[frame["id"]] = {k: v for k, v in frame.items() if k in STATE_FIELDS}

    async def read_until(self, ws, *, last_seq, last_rev, timeout=LIVE_TIMEOUT):
        async with asyncio.timeout(timeout):
            while (self.last_seq, self.last_rev) != (last_seq, last_rev):
                self.apply(json.loads(await ws.recv()))


# The fields of a message's state (message.updated's, but its type).
STATE_FIELDS = (
    "id", "seq", "rev", "message", "html", "deleted", "edited_at", "reply_to", "mentions",
    "reactions", "attachments", "pinned", "question", "user", "datetime",
)  # fmt: skip


def stored_state(course) -> tuple[dict[int, dict], int, int]:
    """Each message's state as the database has it, and the room's last seq and rev."""
    messages = Message.objects.filter(room_id=course.pk).select_related("user")
    state = {
        message.pk: {k: v for k, v in message_updated_frame(message).items() if k != "type"}
        for message in messages
    }
    room = Room.objects.get(pk=course.pk)
    return state, room.last_seq, room.last_rev


# --- a room with two members, alice and bob (mentions, notifications, their e-mails) ---------


@pytest.fixture
def course():
    return CourseFactory(owner=UserFactory(username="teacher"), title="Algebra")


@pytest.fixture
def alice(course):
    return EnrollmentFactory(
        course=course, student__username="alice", student__email="alice@example.com"
    ).student


@pytest.fixture
def bob(course):
    return EnrollmentFactory(course=course, student__username="bob").student


def say(course, author, text):
    """A message stored in the course's room, as its author sent it."""
    return message_create(author=author, course=course, text=text)[0]
