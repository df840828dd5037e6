"""Hostile frames against a live Daphne: each gets an error frame, a reply or a documented close.

A fixed seed makes the run repeatable. After every fuzz frame the client sends a ping; what
arrives before the pong is that frame's answer, so each frame is judged on its own.
"""

import asyncio
import json
import random
import string
from collections import Counter

import pytest
import redis
from channels.db import database_sync_to_async
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.chat.conftest import join, token_key_for

pytestmark = pytest.mark.django_db(transaction=True)

SEED = 20261127
FRAMES = 1_200
OVERSIZED_EVERY = 60  # each one costs a reconnect
TIMEOUT = 10

# docs/websocket-protocol.md: the error codes and close codes a client may meet.
ERROR_CODES = {
    "invalid_json",
    "invalid_frame",
    "empty",
    "too_long",
    "rate_limited",
    "muted",
    "forbidden",
    "not_found",
    "unavailable",
}
CLOSE_CODES = {1000, 1009, 4401, 4403, 4404, 4408, 4429, 1013}
REPLY_TYPES = {"message", "message.deleted", "member.muted", "history", "pong", "presence"}
FRAME_LIMIT = 64 * 1024

UNICODE_EDGES = [
    "\u0000",  # NUL: refused by the protocol
    "\ud800",  # a lone surrogate (valid in JSON escapes, not in UTF-8)
    "\udfff\ud800",
    "\ufeff",  # byte order mark
    "\u200b\u200c\u200d",  # zero-width
    "\u202e reversed",  # right-to-left override
    "e\u0301\u0301\u0301\u0301",  # stacked combining marks
    "\U0001f600\U0001f469\u200d\U0001f4bb",  # emoji and a ZWJ sequence
    "\uffff\ufffe",  # non-characters
    "\x7f\x1b[31m",  # DEL and a terminal escape
    "  \t\n  ",  # only whitespace
    "\U0010ffff",
]


class Fuzzer:
    """Generates one hostile frame at a time: ("text", str) or ("bytes", bytes)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.kinds = [
            self.invalid_json,
            self.wrong_types,
            self.huge_numbers,
            self.deep_nesting,
            self.binary,
            self.unknown_type,
            self.missing_keys,
            self.unicode_edges,
            self.random_object,
        ]

    def frame(self):
        return self.rng.choice(self.kinds)()

    def _text(self, obj):
        return "text", json.dumps(obj)

    def _value(self, depth=0):
        rng = self.rng
        choices = [
            lambda: None,
            lambda: rng.choice([True, False]),
            lambda: rng.randint(-(2**70), 2**70),
            lambda: rng.uniform(-1e308, 1e308),
            lambda: "".join(rng.choices(string.printable, k=rng.randint(0, 40))),
            lambda: rng.choice(UNICODE_EDGES),
        ]
        if depth < 3:
            choices += [
                lambda: [self._value(depth + 1) for _ in range(rng.randint(0, 4))],
                lambda: {
                    rng.choice(["type", "message", "id", "x", ""]): self._value(depth + 1)
                    for _ in range(rng.randint(0, 4))
                },
            ]
        return rng.choice(choices)()

    def invalid_json(self):
        rng = self.rng
        valid = json.dumps({"type": "message", "message": "hi"})
        return "text", rng.choice(
            [
                valid[: rng.randint(0, len(valid) - 1)],
                "".join(rng.choices(string.printable, k=rng.randint(1, 200))),
                "{'type': 'ping'}",
                '{"type": "ping",}',
                "NaN",
                '{"type": "history", "limit": Infinity}',
                '{"type": "history", "before": -Infinity}',
                "",
                "\x00",
                '{"message": "unterminated',
                "1" * 5000,  # over Python's 4,300-digit limit for int()
                '{"a": ' + "1e99999" + "}",
            ]
        )

    def wrong_types(self):
        rng = self.rng
        kind = rng.choice(["message", "history", "typing", "delete", "mute", "ping", "read"])
        field = rng.choice(["message", "before", "after", "limit", "id", "user", "minutes", "seq"])
        frame = {"type": kind, field: self._value()}
        if rng.random() < 0.3:
            frame["client_id"] = self._value()
        if rng.random() < 0.2:
            frame["type"] = self._value()
        return self._text(frame)

    def huge_numbers(self):
        rng = self.rng
        number = rng.choice(
            [
                10**400,
                -(10**400),
                2**63,
                2**63 - 1,
                -(2**63),
                2**31,
                1e308,
                -1e-320,
                0,
                -1,
            ]
        )
        kind, field = rng.choice(
            [
                ("history", "before"),
                ("history", "after"),
                ("history", "limit"),
                ("delete", "id"),
                ("mute", "minutes"),
                ("read", "seq"),
            ]
        )
        frame = {"type": kind, field: number}
        if kind == "mute":
            frame["user"] = "nobody"
        return self._text(frame)

    def deep_nesting(self):
        rng = self.rng
        depth = rng.choice([50, 1_000, 10_000, 30_000])
        opener, closer = rng.choice([("[", "]"), ('{"a":', "}")])
        inner = opener * depth + "1" + closer * depth
        if rng.random() < 0.5:
            return "text", '{"type": "message", "message": ' + inner + "}"
        return "text", inner

    def binary(self):
        rng = self.rng
        data = rng.choice(
            [
                rng.randbytes(rng.randint(0, 300)),
                json.dumps({"type": "ping"}).encode(),
                b"\xff\xfe\x00",
            ]
        )
        return "bytes", data

    def unknown_type(self):
        rng = self.rng
        kind = rng.choice(
            [
                "".join(rng.choices(string.ascii_letters + "._", k=rng.randint(1, 30))),
                "chat.message",  # a channel-layer event name: never a client frame
                "websocket.disconnect",
                "hub_put",
                "__init__",
                "presence",
                "MESSAGE",
                "",
                rng.choice(UNICODE_EDGES),
            ]
        )
        return self._text({"type": kind, "message": "hello"})

    def missing_keys(self):
        return self._text(
            self.rng.choice(
                [
                    {},
                    {"type": "message"},
                    {"type": "delete"},
                    {"type": "mute"},
                    {"type": "mute", "user": "nobody"},
                    {"type": "read"},
                    {"client_id": "only-an-id"},
                ]
            )
        )

    def unicode_edges(self):
        rng = self.rng
        text = "".join(rng.choices(UNICODE_EDGES, k=rng.randint(1, 4)))
        field = rng.choice(["message", "client_id", "type"])
        frame = {"type": "message", "message": "hi", field: text}
        return self._text(frame)

    def random_object(self):
        value = self._value()
        return self._text(value) if self.rng.random() < 0.3 else self._text({"type": value})

    def oversized(self):
        size = FRAME_LIMIT + self.rng.randint(1, 4096)
        if self.rng.random() < 0.5:
            return "bytes", self.rng.randbytes(size)
        return "text", json.dumps({"type": "message", "message": "x" * size})


@pytest.fixture
def fuzz_server(live_asgi_server, redis_server, room):
    """Daphne on the real redis-server, with the per-socket frame budget and rate limit raised."""
    redis.Redis.from_url(redis_server.url).flushdb()
    return live_asgi_server(
        "daphne",
        REDIS_URL=redis_server.url,
        CHAT_FRAME_BUDGET="100000/10s",
        CHAT_RATE_LIMIT="100000/10s",
    )


class Client:
    """One token-authenticated socket in the room that reconnects after each close."""

    def __init__(self, url: str, token: str):
        self.url, self.token, self.ws = url, token, None
        self.reconnects = 0

    async def open(self):
        self.ws = await connect(
            self.url,
            additional_headers={"Authorization": f"Token {self.token}"},
            open_timeout=TIMEOUT,
            close_timeout=2,
            max_size=2**22,
        )
        presence = json.loads(await asyncio.wait_for(self.ws.recv(), TIMEOUT))
        assert presence["type"] == "presence"

    async def reopen(self):
        await self.ws.close()
        self.reconnects += 1
        await self.open()

    async def close(self):
        await self.ws.close()

    async def answer(self, kind: str, data) -> list[str]:
        """What the server did with one frame: e.g. ["error:invalid_json"], ["close:1009"]."""
        outcomes = []
        try:
            await self.ws.send(data)
            await self.ws.send(json.dumps({"type": "ping"}))
            async with asyncio.timeout(TIMEOUT):
                while True:
                    reply = await self.ws.recv()
                    outcome = judge(reply)
                    if outcome == "reply:pong":
                        return outcomes or ["none"]
                    outcomes.append(outcome)
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd is not None else 1006
            outcomes.append(f"close:{code}")
            await self.reopen()
            return outcomes
        except TimeoutError:
            return [*outcomes, "timeout"]


def judge(reply) -> str:
    if not isinstance(reply, str):
        return "binary-reply"
    try:
        frame = json.loads(reply)
    except ValueError:
        return "non-json-reply"
    if not isinstance(frame, dict):
        return "non-object-reply"
    if frame.get("type") == "error":
        return f"error:{frame.get('code')}"
    return f"reply:{frame.get('type')}"


def acceptable(outcome: str) -> bool:
    kind, _, detail = outcome.partition(":")
    if kind == "error":
        return detail in ERROR_CODES
    if kind == "reply":
        return detail in REPLY_TYPES
    if kind == "close":
        return int(detail) in CLOSE_CODES
    return outcome == "none"


async def conversation_works(server, course, tokens) -> bool:
    url = f"{server.ws_url}/ws/chat/room/{course.pk}/"
    alice, bob = Client(url, tokens[0]), Client(url, tokens[1])
    await alice.open()
    await bob.open()
    try:
        await alice.ws.send(json.dumps({"message": "still here?", "client_id": "after-fuzz"}))
        async with asyncio.timeout(TIMEOUT):
            while True:
                frame = json.loads(await bob.ws.recv())
                if frame["type"] == "message":
                    return frame["message"] == "still here?"
    finally:
        await alice.close()
        await bob.close()


async def test_every_hostile_frame_gets_an_error_a_reply_or_a_documented_close(room, fuzz_server):
    course, owner, students = room
    # The owner may delete and mute, so those frames reach deeper than a refusal.
    token = await database_sync_to_async(token_key_for)(owner)
    client = Client(f"{fuzz_server.ws_url}/ws/chat/room/{course.pk}/", token)
    await client.open()
    rng = random.Random(SEED)
    fuzzer = Fuzzer(rng)

    bad, seen, oversized = [], Counter(), 0
    for index in range(FRAMES):
        if index % OVERSIZED_EVERY == OVERSIZED_EVERY - 1:
            kind, data = fuzzer.oversized()
            oversized += 1
        else:
            kind, data = fuzzer.frame()
        outcomes = await client.answer(kind, data)
        seen.update(outcomes)
        bad += [(index, data[:120], o) for o in outcomes if not acceptable(o)]
    await client.close()

    assert bad == [], (Counter(outcome for _, _, outcome in bad), bad[:5])
    # Deep nesting can push a frame over the limit too.
    assert seen["close:1009"] == client.reconnects >= oversized
    assert sum(count for outcome, count in seen.items() if outcome.startswith("error:")) > (
        FRAMES // 2
    )
    tokens = [await database_sync_to_async(token_key_for)(student) for student in students]
    assert await conversation_works(fuzz_server, course, tokens)


async def test_a_frame_nested_deeper_than_the_parser_allows_is_invalid_json(room, chat_redis):
    course, _, students = room
    communicator = await join(course, students[0])

    await communicator.send_to(text_data="[" * 30_000 + "]" * 30_000)

    frame = await communicator.receive_json_from(timeout=3)
    assert (frame["type"], frame["code"]) == ("error", "invalid_json")
    await communicator.disconnect()
