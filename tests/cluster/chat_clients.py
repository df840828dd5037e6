"""Chat members that outlive their server: token clients that reconnect on any close and resume.

Each member connects with `?after=<the last seq it has>` (at first the room's seq before the
run), so a resumed socket replays what the member missed; it sends `messages` messages, one
every `interval` seconds, each with a client_id naming the run, the member and a counter, and
resends every message not yet acknowledged (its own message received back) every
`RESEND_AFTER` seconds with the same client_id, which the server stores once and answers with
the stored message. Every member should receive every message of its room once, in increasing
seq order, whatever happened to the servers meanwhile; the figures say how far that held.
"""

import asyncio
import contextlib
import json
import random
import secrets
import ssl
import time
from collections import Counter
from dataclasses import dataclass, field

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, WebSocketException

from bench.chat_load import percentile

HANDSHAKES_AT_ONCE = 20
RESEND_AFTER = 2.0
RECONNECT_DELAY = (0.1, 0.5)


@dataclass
class Member:
    room: int
    index: int
    username: str
    token: str
    last_seq: int
    sent: int = 0
    sent_all: bool = False
    received: set[str] = field(default_factory=set)
    unacked: dict[str, float] = field(default_factory=dict)
    resent: set[str] = field(default_factory=set)
    duplicates: int = 0
    out_of_order: int = 0
    disconnects: int = 0
    connected: bool = False


@dataclass
class ChatRun:
    tag: str = field(default_factory=lambda: secrets.token_hex(4))
    members: list[Member] = field(default_factory=list)
    sent: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    last_delivery: float = 0.0
    errors: Counter = field(default_factory=Counter)
    # Why sockets ended before their member was done: close codes, or the handshake's error.
    closes: Counter = field(default_factory=Counter)
    all_connected: asyncio.Event = field(default_factory=asyncio.Event)
    # While set, members go on sending past their number of messages (a fault in progress).
    hold: asyncio.Event = field(default_factory=asyncio.Event)

    def expected(self, member: Member) -> int:
        """Messages of the member's room: known once every member of the room sent its last."""
        return sum(other.sent for other in self.members if other.room == member.room)

    def done(self, member: Member) -> bool:
        room_sent = all(other.sent_all for other in self.members if other.room == member.room)
        return room_sent and not member.unacked and len(member.received) >= self.expected(member)

    def disconnected_members(self) -> list[Member]:
        return [member for member in self.members if member.disconnects]

    def figures(self) -> dict:
        expected = sum(self.expected(member) for member in self.members)
        deliveries = sum(len(member.received) for member in self.members)
        first_send = min(self.sent.values(), default=0.0)
        elapsed = self.last_delivery - first_send if deliveries else 0.0

        def ms(fraction: float) -> float | None:
            value = percentile(self.latencies, fraction)
            return None if value is None else round(value * 1000, 1)

        return {
            "clients": len(self.members),
            "messages_sent": len(self.sent),
            "expected_deliveries": expected,
            "deliveries": deliveries,
            "lost": expected - deliveries,
            "duplicates": sum(member.duplicates for member in self.members),
            "out_of_order": sum(member.out_of_order for member in self.members),
            "unacknowledged": sum(len(member.unacked) for member in self.members),
            "reconnects": sum(member.disconnects for member in self.members),
            "errors": dict(self.errors),
            "closes": dict(self.closes),
            "deliveries_per_s": round(deliveries / elapsed, 1) if elapsed > 0 else None,
            "latency_ms": {"p50": ms(0.5), "p99": ms(0.99), "max": ms(1.0)},
        }


def summary(name: str, figures: dict) -> str:
    latency = figures["latency_ms"]
    return (
        f"{name}: {figures['deliveries']}/{figures['expected_deliveries']} deliveries to "
        f"{figures['clients']} clients, lost {figures['lost']}, duplicates "
        f"{figures['duplicates']}, out of order {figures['out_of_order']}, reconnects "
        f"{figures['reconnects']}, {figures['deliveries_per_s']} deliveries/s, "
        f"p50 {latency['p50']} ms, p99 {latency['p99']} ms, errors {figures['errors']}, "
        f"closes {figures['closes']}"
    )


def _receive_frame(member: Member, run: ChatRun, frame: str | bytes) -> None:
    data = json.loads(frame)
    kind = data.get("type")
    if kind == "error":
        run.errors[data.get("code")] += 1
        return
    if kind != "message":
        return
    client_id = data.get("client_id") or ""
    if data["seq"] <= member.last_seq:
        if client_id in member.resent and client_id in member.received:
            return  # the stored message, answering a resend: not a delivery
        member.out_of_order += 1
        member.duplicates += client_id in member.received
        return
    member.last_seq = data["seq"]
    if not client_id.startswith(run.tag):
        return
    if client_id in member.received:
        member.duplicates += 1
        return
    now = time.perf_counter()
    member.received.add(client_id)
    member.unacked.pop(client_id, None)
    run.latencies.append(now - run.sent[client_id])
    run.last_delivery = max(run.last_delivery, now)


async def _send(ws, client_id: str) -> None:
    frame = json.dumps({"type": "message", "message": client_id, "client_id": client_id})
    with contextlib.suppress(WebSocketException, OSError):
        await ws.send(frame)


class MemberConnection:
    """One member's socket, opened again whenever it closes, until the member is done."""

    def __init__(self, member: Member, run: ChatRun, *, url: str, tls: ssl.SSLContext):
        self.member = member
        self.run = run
        self.url = f"{url}/ws/chat/room/{member.room}/"
        self.tls = tls
        self.ws = None

    async def keep_open(self, handshakes: asyncio.Semaphore) -> None:
        member = self.member
        while not self.run.done(member):
            ws = None
            try:
                async with handshakes:
                    ws = await connect(
                        f"{self.url}?after={member.last_seq}",
                        additional_headers={"Authorization": f"Token {member.token}"},
                        ssl=self.tls,
                        open_timeout=10,
                    )
                async with ws:
                    self.ws = ws
                    if not member.connected:
                        member.connected = True
                        if all(other.connected for other in self.run.members):
                            self.run.all_connected.set()
                    async for frame in ws:
                        _receive_frame(member, self.run, frame)
            except (WebSocketException, InvalidHandshake, OSError, TimeoutError) as error:
                if ws is None:
                    self.run.closes[type(error).__name__] += 1
            self.ws = None
            if self.run.done(member):
                return
            if ws is not None:
                self.run.closes[ws.close_code] += 1
            member.disconnects += member.connected
            await asyncio.sleep(random.uniform(*RECONNECT_DELAY))  # noqa: S311

    async def send_all(self, *, messages: int, interval: float, phase: float) -> None:
        """Sends on schedule whatever the socket's state; resends what stays unacknowledged."""
        member, run = self.member, self.run
        await asyncio.sleep(phase * interval)
        while member.sent < messages or run.hold.is_set():
            client_id = f"{run.tag}-{member.room}-{member.index}-{member.sent}"
            member.sent += 1
            run.sent[client_id] = member.unacked[client_id] = time.perf_counter()
            if self.ws is not None:
                await _send(self.ws, client_id)
            await asyncio.sleep(interval)
            await self.resend_overdue()
        member.sent_all = True
        while member.unacked:
            await asyncio.sleep(RESEND_AFTER / 4)
            await self.resend_overdue()

    async def close_when_done(self) -> None:
        """Ends the socket once the member has everything (its last frame may have come before
        the room's last send, so no frame tells it)."""
        while not self.run.done(self.member):
            await asyncio.sleep(0.2)
        if self.ws is not None:
            await self.ws.close()

    async def resend_overdue(self) -> None:
        now = time.perf_counter()
        for client_id, sent_at in list(self.member.unacked.items()):
            if now - sent_at >= RESEND_AFTER and self.ws is not None:
                self.member.unacked[client_id] = now
                self.member.resent.add(client_id)
                await _send(self.ws, client_id)


async def chat_run(
    *,
    url: str,
    tls: ssl.SSLContext,
    rooms: list[dict],
    clients_per_room: int,
    start_seqs: dict[int, int],
    messages: int,
    interval: float,
    timeout: float,
    during=None,
) -> ChatRun:
    """Members of `rooms` chat through `url` (wss://host) until each has every message of its
    room or `timeout` seconds pass; `during(run)`, an async callable, runs once every member
    has connected (a fault to inject while they chat; members keep sending while it holds
    `run.hold`)."""
    run = ChatRun()
    run.members = [
        Member(
            room=room["course_id"],
            index=index,
            username=member["username"],
            token=member["token"],
            last_seq=start_seqs.get(room["course_id"], 0),
        )
        for room in rooms
        for index, member in enumerate(room["members"][:clients_per_room])
    ]
    connections = [MemberConnection(member, run, url=url, tls=tls) for member in run.members]
    handshakes = asyncio.Semaphore(HANDSHAKES_AT_ONCE)
    tasks = [asyncio.create_task(c.keep_open(handshakes)) for c in connections]
    try:
        await asyncio.wait_for(run.all_connected.wait(), timeout)
        tasks += [
            asyncio.create_task(
                c.send_all(messages=messages, interval=interval, phase=position / len(connections))
            )
            for position, c in enumerate(connections)
        ]
        tasks += [asyncio.create_task(c.close_when_done()) for c in connections]
        if during is not None:
            tasks.append(asyncio.create_task(during(run)))
        await asyncio.wait(tasks, timeout=timeout)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return run
