"""Memcached and Redis stopped under the native production stack, seen through Nginx.

The contracts are those of the cache issue (a dead Memcached makes pages slower, never failing;
caching resumes by itself; sessions and data live in the database) and of the chat issue (with
Redis down a message is still committed and acknowledged; when it returns every server process
catches its members up from the database, fan-out between processes is live again and a resumed
client gets every seq once). tests/courses/test_cache.py and tests/chat/test_live_servers.py
check them on single servers; here clients go over HTTPS and WSS through Nginx to uWSGI and two
Daphne processes. Each test starts the part it stops again, however it ends.
"""

import asyncio
import json
import time
import uuid

import httpx

from tests.deploy.conftest import (
    WS_TIMEOUT,
    NativeStack,
    open_room,
    socket_upstreams,
    upstreams_of,
)

# pymemcache leaves a failed server alone for dead_timeout (10 s in production), in each uWSGI
# process, before trying it again.
CACHE_RETURN_TIMEOUT = 30
# After Redis returns, a Daphne process rejoins its groups within its reconnect back-off (2 s)
# or, at the latest, its next heartbeat (CHAT_HEARTBEAT, 15 s in production).
LAYER_RETURN_TIMEOUT = 25


def anonymous_pages(seed: dict) -> list[str]:
    return ["/", f"/course/{seed['course_slug']}/"]


def student_pages(seed: dict) -> list[str]:
    return ["/students/courses/", f"/students/course/{seed['course_id']}/"]


def retitle_course(stack: NativeStack, seed: dict, title: str) -> httpx.Response:
    """The instructor saves a new title through the course's edit form."""
    with stack.client(seed["sessions"]["instructor"]) as client:
        return stack.post_form(
            client,
            f"/course/{seed['course_id']}/edit/",
            {
                "subject": seed["subject_id"],
                "title": title,
                "slug": seed["course_slug"],
                "overview": seed["course_overview"],
            },
        )


def course_titles(response: httpx.Response) -> list[str]:
    return [course["title"] for course in response.json()["results"]]


def cache_hit(client: httpx.Client, path: str) -> httpx.Response:
    """The first answer to `path` served from the page cache, waiting for caching to resume."""
    deadline = time.monotonic() + CACHE_RETURN_TIMEOUT
    while True:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        if response.headers.get("x-cache") == "hit":
            return response
        assert time.monotonic() < deadline, f"{path} not served from the cache again"
        time.sleep(0.5)


# --- Memcached ---------------------------------------------------------------------------------


def test_pages_and_the_api_answer_from_the_database_while_memcached_is_down(stack, seed):
    title = f"Saved while Memcached is down {uuid.uuid4().hex[:8]}"
    with (
        stack.client() as anonymous,
        stack.client(seed["sessions"]["student"]) as student,
    ):
        for path in anonymous_pages(seed):
            anonymous.get(path)
            assert anonymous.get(path).headers["x-cache"] == "hit", path
        with stack.stopped("memcached"):
            assert retitle_course(stack, seed, title).status_code == 302
            pages = [(path, anonymous.get(path)) for path in anonymous_pages(seed)]
            pages += [(path, student.get(path)) for path in student_pages(seed)]
            api = anonymous.get("/api/courses/")

    for path, response in pages:
        assert response.status_code == 200, (path, response.status_code)
        assert title in response.text, path
    for path, response in pages[: len(anonymous_pages(seed))]:
        assert response.headers["x-cache"] == "miss", path
    assert api.status_code == 200
    assert title in course_titles(api)


def test_caching_resumes_and_nothing_saved_is_lost_when_memcached_returns(stack, seed):
    title = f"Saved before Memcached returned {uuid.uuid4().hex[:8]}"
    with (
        stack.client() as anonymous,
        stack.client(seed["sessions"]["student"]) as student,
    ):
        with stack.stopped("memcached"):
            assert retitle_course(stack, seed, title).status_code == 302
            assert anonymous.get("/").headers["x-cache"] == "miss"

        cached = [cache_hit(anonymous, path) for path in anonymous_pages(seed)]
        api = anonymous.get("/api/courses/")
        # Sessions live in the database: the restart logged nobody out.
        own_courses = student.get("/students/courses/")

    for response in cached:
        assert title in response.text
    assert title in course_titles(api)
    assert own_courses.status_code == 200
    assert "pupil" in own_courses.text and title in own_courses.text


# --- Redis ---------------------------------------------------------------------------------------


class Member:
    """A chat socket through Nginx, and every `message` frame it received, in order."""

    def __init__(self, ws):
        self.ws = ws
        self.messages: list[dict] = []

    @classmethod
    async def join(cls, stack: NativeStack, seed: dict, who: str, **options) -> "Member":
        return cls(await open_room(stack, seed, who, **options))

    async def read_until(self, done, timeout: float = WS_TIMEOUT) -> dict:
        """Reads frames until `done(frame)`; returns that frame."""
        async with asyncio.timeout(timeout):
            while True:
                frame = json.loads(await self.ws.recv())
                if frame["type"] == "message":
                    self.messages.append(frame)
                if done(frame):
                    return frame

    async def say(self, text: str) -> dict:
        """Sends a message; returns the server's answer to it: its ack or an error frame."""
        client_id = uuid.uuid4().hex
        await self.ws.send(json.dumps({"message": text, "client_id": client_id}))
        return await self.read_until(lambda frame: frame.get("client_id") == client_id)

    async def received_up_to(self, seq: int) -> list[int]:
        """The seqs of every message received, once `seq` has arrived."""
        if not any(message["seq"] >= seq for message in self.messages):
            await self.read_until(lambda frame: frame.get("seq", 0) >= seq)
        return [message["seq"] for message in self.messages]

    async def close(self) -> None:
        await self.ws.close()


async def test_chat_messages_sent_while_redis_is_down_are_committed_and_acknowledged(stack, seed):
    sender = await Member.join(stack, seed, "student")
    try:
        with stack.stopped("redis"):
            acks = [await sender.say(f"while Redis is down {index}") for index in range(3)]
            after = acks[0]["seq"] - 1
            await sender.ws.send(json.dumps({"type": "history", "after": after, "limit": 10}))
            history = await sender.read_until(lambda frame: frame["type"] == "history")
    finally:
        await sender.close()

    assert [ack["type"] for ack in acks] == ["message"] * 3
    first = acks[0]["seq"]
    assert [ack["seq"] for ack in acks] == [first, first + 1, first + 2]
    # Read back from the database.
    assert [(message["seq"], message["message"]) for message in history["messages"]] == [
        (ack["seq"], ack["message"]) for ack in acks
    ]


def test_pages_keep_answering_while_redis_is_down(stack, seed):
    with (
        stack.client() as anonymous,
        stack.client(seed["sessions"]["student"]) as student,
        stack.stopped("redis"),
    ):
        pages = [(path, anonymous.get(path)) for path in anonymous_pages(seed)]
        pages += [
            (path, student.get(path))
            for path in [*student_pages(seed), f"/chat/room/{seed['course_id']}/"]
        ]
        api = anonymous.get("/api/courses/")

    for path, response in pages:
        assert response.status_code == 200, (path, response.status_code)
    # The API's throttle counters live in Redis; without them it refuses with its documented
    # 503 (rather than letting every client in), never a 500.
    assert api.status_code == 503
    assert api.json()["code"] == "unavailable"


async def test_after_redis_returns_both_daphnes_chat_live_and_a_resumed_client_misses_nothing(
    stack, seed
):
    path = f"/ws/chat/room/{seed['course_id']}/"
    sockets_before = len(upstreams_of(stack.log("nginx-access"), path, query=""))
    # least_conn: with the first socket open on one Daphne, the second goes to the other.
    first = await Member.join(stack, seed, "student")
    second = await Member.join(stack, seed, "other")
    members = [first, second]
    try:
        start = (await first.say("before the outage"))["seq"]
        await second.read_until(lambda frame: frame.get("seq") == start)
        with stack.stopped("redis"):
            acks = [await first.say(f"outage, first {index}") for index in range(3)]
            acks += [await second.say(f"outage, second {index}") for index in range(2)]
        assert [ack["type"] for ack in acks] == ["message"] * len(acks)
        # The first handshake after Redis returned works, and replays from `start` on.
        resumed = await Member.join(stack, seed, "instructor", after=start - 1)
        members.append(resumed)

        # Each Daphne catches its socket up from the database, without a reconnect.
        last = max(ack["seq"] for ack in acks)
        for member in (first, second):
            assert await member.received_up_to(last) == list(range(start, last + 1))
        # Typing is never stored: only the channel layer carries it from one Daphne to the other.
        await typing_reaches(first, second)
        await typing_reaches(second, first)
        after_first = await first.say("after the outage, first")
        after_second = await second.say("after the outage, second")
        last = after_second["seq"]
        for member in (first, second):
            assert await member.received_up_to(last) == list(range(start, last + 1))

        assert await resumed.received_up_to(last) == list(range(start, last + 1))
        texts = [message["message"] for message in resumed.messages]
        assert texts == [
            "before the outage",
            *(ack["message"] for ack in sorted(acks, key=lambda ack: ack["seq"])),
            after_first["message"],
            after_second["message"],
        ]
    finally:
        for member in members:
            await member.close()
    daphnes = {f"127.0.0.1:{port}" for port in stack.state["ports"]["daphne"]}
    # The two members were on the two Daphnes (the resumed socket has a query string).
    members_upstreams = await socket_upstreams(stack, path, skip=sockets_before, count=2, query="")
    assert sorted(members_upstreams) == sorted(daphnes)


async def typing_reaches(sender: Member, reader: Member) -> None:
    """Sends typing frames until the reader gets one, for at most LAYER_RETURN_TIMEOUT."""
    deadline = time.monotonic() + LAYER_RETURN_TIMEOUT
    while True:
        # The server passes on one typing frame per socket and second.
        await sender.ws.send(json.dumps({"type": "typing"}))
        try:
            await reader.read_until(lambda frame: frame["type"] == "typing", timeout=1.5)
            return
        except TimeoutError:
            assert time.monotonic() < deadline, "typing never crossed to the other Daphne"
