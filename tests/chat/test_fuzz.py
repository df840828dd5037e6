"""Hostile frames against a live Daphne: each gets an error frame, a reply or a documented close.

A fixed seed makes the run repeatable. After every fuzz frame the client sends a ping; what
arrives before the pong is that frame's answer, so each frame is judged on its own.
"""

import asyncio
import json
import os
import random
import string
import time
from collections import Counter
from urllib.parse import urlencode

import pytest
import redis
from channels.db import database_sync_to_async
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as sync_connect

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
    "edit_window_closed",
}
CLOSE_CODES = {1000, 1009, 4401, 4403, 4404, 4408, 4429, 1013}
REPLY_TYPES = {
    "message",
    "message.deleted",
    "message.updated",
    "member.muted",
    "history",
    "pong",
    "presence",
}
# A frame naming a message by id, with the fields it needs besides.
MESSAGE_FRAMES = ["delete", "edit", "react", "pin", "unpin", "answer"]
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
        kind = rng.choice(["message", "history", "typing", "mute", "ping", "read", *MESSAGE_FRAMES])
        field = rng.choice(
            [
                "message",
                "before",
                "after",
                "limit",
                "id",
                "user",
                "minutes",
                "seq",
                "emoji",
                "reply_to",
                "attachments",
                "about",
                "answer_id",
            ]
        )
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
                ("edit", "id"),
                ("react", "id"),
                ("pin", "id"),
                ("unpin", "id"),
                ("mute", "minutes"),
                ("read", "seq"),
                ("message", "reply_to"),
                ("message", "about"),
                ("answer", "id"),
                ("answer", "answer_id"),
            ]
        )
        frame = {"type": kind, field: number}
        if kind == "message":
            frame["message"] = "a reply"
        if kind == "mute":
            frame["user"] = "nobody"
        if kind == "edit":
            frame["message"] = "edited"
        if kind == "react":
            frame["emoji"] = "👍"
        if kind == "answer":
            frame.setdefault("id", 1)
            frame.setdefault("answer_id", 1)
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
                    {"type": "edit"},
                    {"type": "edit", "id": 1},
                    {"type": "react", "id": 1},
                    {"type": "react", "emoji": "👍"},
                    {"type": "pin"},
                    {"type": "unpin"},
                    {"type": "mute"},
                    {"type": "mute", "user": "nobody"},
                    {"type": "read"},
                    {"client_id": "only-an-id"},
                    {"reply_to": 1},
                    {"type": "message", "message": "re", "reply_to": None},
                    {"type": "message", "message": "?", "about": None},
                    {"type": "answer"},
                    {"type": "answer", "id": 1},
                    {"type": "answer", "answer_id": None},
                ]
            )
        )

    def unicode_edges(self):
        rng = self.rng
        text = "".join(rng.choices(UNICODE_EDGES, k=rng.randint(1, 4)))
        field = rng.choice(["message", "client_id", "type", "reply_to", "about"])
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


# --- property-based: hypothesis strategies for every frame type and query parameter ----------
#
# One socket takes every generated frame, each followed by a ping: what arrives before the
# pong is that frame's answer. The frame budget and rate limit are raised; bad input never
# closes the socket. `make test` runs FUZZ_EXAMPLES x 20 frames (500), `make fuzz` 10,000.

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
HYPOTHESIS_SEED = 20261204
FRAME_FIELDS = {
    "message": ["message", "client_id", "reply_to", "attachments", "about"],
    "history": ["before", "after", "limit"],
    "typing": [],
    "delete": ["id"],
    "mute": ["user", "minutes"],
    "ping": [],
    "read": ["seq"],
    "edit": ["id", "message"],
    "react": ["id", "emoji"],
    "pin": ["id"],
    "unpin": ["id"],
    "answer": ["id", "answer_id"],
}
ALL_FIELDS = sorted({field for fields in FRAME_FIELDS.values() for field in fields})
# Python's int() refuses more than 4,300 digits: numbers longer than that are generated too.
INT_DIGITS_LIMIT = 4300

huge_integers = st.sampled_from(
    [2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**31, 2**64, 10**400, -(10**400)]
) | st.integers(min_value=-(10**30), max_value=10**30)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-5, max_value=2000)
    | huge_integers
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=60)
    | st.sampled_from(UNICODE_EDGES)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
frame_types = st.sampled_from(list(FRAME_FIELDS)) | st.text(max_size=30) | json_values


@st.composite
def frame_objects(draw):
    """A frame of a known or unknown type, with its own fields, others' fields, or none."""
    kind = draw(frame_types)
    frame = {"type": kind}
    for field in FRAME_FIELDS.get(kind, []) if isinstance(kind, str) else []:
        if draw(st.booleans()):
            frame[field] = draw(json_values)
    frame.update(draw(st.dictionaries(st.sampled_from(ALL_FIELDS), json_values, max_size=2)))
    if draw(st.integers(0, 9)) == 0:
        del frame["type"]  # a frame without a type is a message
    return frame


@st.composite
def nested_texts(draw):
    # Up to 8,000 levels (56 KB): under the 64 KiB frame limit, far over Python's recursion limit.
    depth = draw(st.integers(min_value=1, max_value=8_000))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    inner = opener * depth + "1" + closer * depth
    if draw(st.booleans()):
        field = draw(st.sampled_from(ALL_FIELDS))
        return f'{{"type": "history", "{field}": {inner}}}'
    return inner


# Numbers json.dumps never writes: beyond a double, NaN and infinities.
unusual_number_texts = st.builds(
    lambda kind, field, number: f'{{"type": "{kind}", "{field}": {number}}}',
    st.sampled_from(list(FRAME_FIELDS)),
    st.sampled_from(ALL_FIELDS),
    st.sampled_from(
        ["1e400", "-1e400", "NaN", "Infinity", "-Infinity", "9" * (INT_DIGITS_LIMIT + 1)]
    ),
)
hostile_frames = st.one_of(
    frame_objects().map(lambda frame: ("text", json.dumps(frame))),
    nested_texts().map(lambda text: ("text", text)),
    unusual_number_texts.map(lambda text: ("text", text)),
    st.text(max_size=300).map(lambda text: ("text", text)),
    st.binary(max_size=300).map(lambda data: ("bytes", data)),
)


def sync_socket(url: str, token: str | None):
    """A socket with a token, or a cookie-less browser's (websockets' sync client: hypothesis
    drives plain calls); a context manager."""
    # Without a token, a browser's Origin passes the origin check and meets the consumer.
    origin = "http://" + url.split("/")[2]
    headers = {"Authorization": f"Token {token}"} if token else {"Origin": origin}
    return sync_connect(
        url, additional_headers=headers, open_timeout=TIMEOUT, close_timeout=2, max_size=2**22
    )


def frames_until_pong(ws) -> list[str]:
    """Outcomes (as judge() names them) of what arrives before the answer to a ping."""
    outcomes = []
    deadline = time.monotonic() + TIMEOUT
    try:
        ws.send(json.dumps({"type": "ping"}))
        while (outcome := judge(ws.recv(timeout=deadline - time.monotonic()))) != "reply:pong":
            outcomes.append(outcome)
    except ConnectionClosed as closed:
        outcomes.append(f"close:{closed.rcvd.code if closed.rcvd is not None else 1006}")
    except TimeoutError:
        outcomes.append("timeout")
    return outcomes


@pytest.fixture
def hypothesis_server(live_asgi_server, redis_server, room):
    redis.Redis.from_url(redis_server.url).flushdb()
    return live_asgi_server(
        "daphne",
        REDIS_URL=redis_server.url,
        CHAT_FRAME_BUDGET="1000000/10s",
        CHAT_RATE_LIMIT="1000000/10s",
        CHAT_MAX_SOCKETS_PER_USER="1000",
    )


FUZZ_SETTINGS = settings(
    database=None,  # the seed alone makes a run repeatable; nothing is written to the tree
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)


@pytest.mark.timeout(120 + FUZZ_EXAMPLES * 2)
def test_generated_frames_of_every_type_get_answers_and_never_close_the_socket(
    room, hypothesis_server
):
    course, owner, _ = room
    # The owner may delete and mute, so those frames reach deeper than a refusal.
    url = f"{hypothesis_server.ws_url}/ws/chat/room/{course.pk}/"

    @settings(FUZZ_SETTINGS, max_examples=FUZZ_EXAMPLES * 20)
    @seed(HYPOTHESIS_SEED)
    @given(frame=hostile_frames)
    def each_frame_is_answered_and_the_socket_stays(frame):
        _, data = frame
        ws.send(data)
        outcomes = frames_until_pong(ws)
        assert not any(o.startswith(("close:", "timeout")) for o in outcomes), outcomes
        assert all(acceptable(outcome) for outcome in outcomes), outcomes

    with sync_socket(url, token_key_for(owner)) as ws:
        assert frames_until_pong(ws)[0] == "reply:presence"
        each_frame_is_answered_and_the_socket_stays()
    assert "Traceback" not in hypothesis_server.log()


after_values = st.one_of(
    st.integers(min_value=0, max_value=2**63 - 1).map(str),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(alphabet="0123456789", min_size=19, max_size=INT_DIGITS_LIMIT + 100),
    st.text(max_size=40),
    st.sampled_from(["", " 1", "1 ", "+1", "1.0", "1e3", "0x10", "١", "NaN", "-0", "1_000"]),
)
query_values = st.one_of(after_values, st.text(max_size=80))


@st.composite
def room_queries(draw):
    """A query string with `after`, `rev` and `token` (never read) given zero to three times
    each."""
    pairs = [("after", draw(after_values)) for _ in range(draw(st.integers(0, 3)))]
    pairs += [("rev", draw(after_values)) for _ in range(draw(st.integers(0, 2)))]
    pairs += [("token", draw(query_values)) for _ in range(draw(st.integers(0, 3)))]
    pairs += draw(st.lists(st.tuples(st.text(max_size=10), query_values), max_size=2))
    return urlencode(draw(st.permutations(pairs)))


@pytest.mark.timeout(120 + FUZZ_EXAMPLES * 6)
def test_generated_query_strings_get_presence_and_at_most_an_error_frame(room, hypothesis_server):
    course, _, students = room
    token = token_key_for(students[0])
    room_url = f"{hypothesis_server.ws_url}/ws/chat/room/{course.pk}/"

    @settings(FUZZ_SETTINGS, max_examples=FUZZ_EXAMPLES * 2)
    @seed(HYPOTHESIS_SEED)
    @given(query=room_queries(), with_header=st.booleans())
    def each_query_is_answered(query, with_header):
        with sync_socket(f"{room_url}?{query}", token if with_header else None) as ws:
            outcomes = frames_until_pong(ws)
        if not with_header:  # a token in the query string is never read
            assert outcomes == ["close:4401"], outcomes
            return
        assert outcomes[0] == "reply:presence", outcomes
        assert set(outcomes[1:]) <= {
            "error:invalid_frame",
            "reply:message",
            "reply:message.updated",
        }, outcomes

    each_query_is_answered()
    assert "Traceback" not in hypothesis_server.log()


def test_an_after_longer_than_python_converts_gets_an_error_frame(room, hypothesis_server):
    course, _, students = room
    url = f"{hypothesis_server.ws_url}/ws/chat/room/{course.pk}/?after={'9' * 5000}"
    with sync_socket(url, token_key_for(students[0])) as ws:
        outcomes = frames_until_pong(ws)

    assert outcomes == ["reply:presence", "error:invalid_frame"]
