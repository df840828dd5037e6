"""Soak: clients chatting and browsing for a while; every error, and the server's memory drift.

Each client is one member of a benchmark room, with a WebSocket (token, as bench/chat_load.py)
and an HTTP client logged in with its session cookie (`manage.py bench_setup --sessions`). Every
client sends a message every `message_interval` seconds and fetches a page every `page_interval`
seconds (the catalogue, its course page, its study view in turn), each from a random phase so
the load is even. Two phases with the same traffic: a warm-up, then the soak. After each, the
traffic stops, every client waits for every message of its room so far, the server processes
are left to go quiet, and their RSS is read: growth = (after soak - after warm-up) / after
warm-up (issue 7: within 10%).

Errors (issue 7: none): failed handshakes, sockets the server closed, error frames, messages
duplicated or out of order, deliveries still missing after the last drain (`lost`), sends that
failed, pages not answered 200, failed HTTP requests.

    python -m bench.soak --url http://127.0.0.1:8000 --data bench.json --pid <server pid>
"""

import argparse
import asyncio
import contextlib
import json
import random
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
from websockets.asyncio.client import ClientConnection, connect

from bench.chat_load import latency_ms
from bench.process_stats import rss_kib, wait_quiet

HANDSHAKES_AT_ONCE = 20
DRAIN_TIMEOUT = 30.0


@dataclass
class SoakClient:
    room: int
    slug: str
    index: int
    token: str
    session: str
    ws: ClientConnection | None = None
    http: httpx.AsyncClient | None = None
    received: set[str] = field(default_factory=set)
    last_seq: int = 0
    messages: int = 0
    pages: int = 0


@dataclass
class Soak:
    tag: str
    sent: dict[str, float] = field(default_factory=dict)
    sent_per_room: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    page_latencies: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    closing: bool = False


async def _connect(client: SoakClient, soak: Soak, url: str, handshakes: asyncio.Semaphore):
    async with handshakes:
        try:
            client.ws = await connect(
                f"{url}/ws/chat/room/{client.room}/",
                additional_headers={"Authorization": f"Token {client.token}"},
                open_timeout=30,
                max_size=2**20,
            )
            async with asyncio.timeout(30):
                while json.loads(await client.ws.recv()).get("type") != "presence":
                    pass
        except Exception as error:
            soak.errors[f"handshake {type(error).__name__}"] += 1
            if client.ws is not None:
                await client.ws.close()
            client.ws = None


async def _receive(client: SoakClient, soak: Soak) -> None:
    try:
        async for frame in client.ws:
            now = time.perf_counter()
            data = json.loads(frame)
            kind = data.get("type")
            if kind == "error":
                soak.errors[f"error frame {data.get('code')}"] += 1
                continue
            client_id = data.get("client_id") or ""
            if kind != "message" or not client_id.startswith(soak.tag):
                continue
            if client_id in client.received:
                soak.errors["duplicate"] += 1
                continue
            client.received.add(client_id)
            if data["seq"] <= client.last_seq:
                soak.errors["out of order"] += 1
            client.last_seq = max(client.last_seq, data["seq"])
            soak.latencies.append(now - soak.sent[client_id])
    except Exception as error:  # noqa: BLE001 - counted, the soak goes on
        soak.errors[f"socket {type(error).__name__}"] += 1
    if not soak.closing:
        soak.errors["socket closed by the server"] += 1


async def _chat(client: SoakClient, soak: Soak, end: float, interval: float) -> None:
    await asyncio.sleep(random.uniform(0, interval))
    while time.perf_counter() < end and client.ws is not None:
        client_id = f"{soak.tag}-{client.room}-{client.index}-{client.messages}"
        client.messages += 1
        soak.sent[client_id] = time.perf_counter()
        soak.sent_per_room[client.room] += 1
        try:
            payload = {"type": "message", "message": client_id, "client_id": client_id}
            await client.ws.send(json.dumps(payload))
        except Exception as error:  # noqa: BLE001
            soak.sent_per_room[client.room] -= 1
            soak.errors[f"send {type(error).__name__}"] += 1
            return
        await asyncio.sleep(interval)


async def _browse(client: SoakClient, soak: Soak, end: float, interval: float) -> None:
    paths = ["/", f"/course/{client.slug}/", f"/students/course/{client.room}/"]
    await asyncio.sleep(random.uniform(0, interval))
    while time.perf_counter() < end:
        path = paths[client.pages % len(paths)]
        client.pages += 1
        started = time.perf_counter()
        try:
            response = await client.http.get(path)
        except httpx.HTTPError as error:
            soak.errors[f"HTTP {type(error).__name__}"] += 1
        else:
            soak.page_latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                soak.errors[f"HTTP {response.status_code} {path.split('/')[1] or 'catalogue'}"] += 1
        await asyncio.sleep(interval)


async def _phase(
    clients: list[SoakClient], soak: Soak, seconds: float, message_interval: float, page_interval
) -> None:
    end = time.perf_counter() + seconds
    await asyncio.gather(
        *(_chat(client, soak, end, message_interval) for client in clients),
        *(_browse(client, soak, end, page_interval) for client in clients),
    )


async def _drain(clients: list[SoakClient], soak: Soak) -> None:
    """Wait until every connected client has every message of its room sent so far."""
    deadline = time.perf_counter() + DRAIN_TIMEOUT
    while time.perf_counter() < deadline and any(
        len(client.received) < soak.sent_per_room[client.room]
        for client in clients
        if client.ws is not None
    ):
        await asyncio.sleep(0.1)


async def _settled_rss(clients: list[SoakClient], soak: Soak, pids: list[int]) -> int:
    await _drain(clients, soak)
    await wait_quiet(pids)
    return sum(rss_kib(pid) for pid in pids)


async def soak_scenario(
    *,
    ws_url: str,
    http_url: str,
    rooms: list[dict],
    session_cookie: str,
    clients_per_room: int,
    warmup: float,
    duration: float,
    message_interval: float,
    page_interval: float,
    server_pids: list[int],
) -> dict:
    """Soak the server at ws_url / http_url; `rooms` from bench_setup --sessions."""
    soak = Soak(tag=secrets.token_hex(4))
    clients = [
        SoakClient(
            room=room["course_id"],
            slug=room["slug"],
            index=index,
            token=member["token"],
            session=member["session"],
        )
        for room in rooms
        for index, member in enumerate(room["members"][:clients_per_room])
    ]
    handshakes = asyncio.Semaphore(HANDSHAKES_AT_ONCE)
    await asyncio.gather(*(_connect(client, soak, ws_url, handshakes) for client in clients))
    receivers = [
        asyncio.create_task(_receive(client, soak)) for client in clients if client.ws is not None
    ]
    for client in clients:
        client.http = httpx.AsyncClient(
            base_url=http_url, cookies={session_cookie: client.session}, timeout=10
        )
    try:
        await _phase(clients, soak, warmup, message_interval, page_interval)
        after_warmup = await _settled_rss(clients, soak, server_pids)
        sent_in_warmup = len(soak.sent)
        await _phase(clients, soak, duration, message_interval, page_interval)
        after_soak = await _settled_rss(clients, soak, server_pids)
    finally:
        soak.closing = True
        for client in clients:
            if client.ws is not None:
                with contextlib.suppress(Exception):
                    await client.ws.close()
            await client.http.aclose()
        await asyncio.gather(*receivers, return_exceptions=True)

    connected = [client for client in clients if client.ws is not None]
    expected = sum(soak.sent_per_room[client.room] for client in connected)
    deliveries = sum(len(client.received) for client in connected)
    lost = expected - deliveries
    if lost:
        soak.errors["lost"] += lost
    return {
        "clients": len(clients),
        "rooms": len(rooms),
        "warmup_s": warmup,
        "duration_s": duration,
        "message_interval_s": message_interval,
        "page_interval_s": page_interval,
        "messages_sent": len(soak.sent),
        "messages_sent_in_soak": len(soak.sent) - sent_in_warmup,
        "expected_deliveries": expected,
        "deliveries": deliveries,
        "lost": lost,
        "pages": len(soak.page_latencies),
        "page_latency_ms": latency_ms(soak.page_latencies),
        "latency_ms": latency_ms(soak.latencies),
        "errors": dict(soak.errors),
        "error_count": sum(soak.errors.values()),
        "rss_after_warmup_kib": after_warmup,
        "rss_after_soak_kib": after_soak,
        "rss_growth_pct": round((after_soak - after_warmup) * 100 / after_warmup, 1),
    }


def summary(name: str, result: dict) -> str:
    return (
        f"{name}: {result['clients']} clients, {result['messages_sent']} messages "
        f"({result['deliveries']}/{result['expected_deliveries']} deliveries, p99 "
        f"{result['latency_ms']['p99']} ms), {result['pages']} pages (p99 "
        f"{result['page_latency_ms']['p99']} ms), errors {result['errors']}, RSS "
        f"{result['rss_after_warmup_kib']} KiB after warm-up -> {result['rss_after_soak_kib']} "
        f"KiB after the soak ({result['rss_growth_pct']:+}%)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="serves pages and /ws/")
    parser.add_argument("--data", required=True, help="JSON of manage.py bench_setup --sessions")
    parser.add_argument("--pid", type=int, action="append", required=True, help="server process")
    parser.add_argument("--rooms", type=int, default=8)
    parser.add_argument("--clients", type=int, default=25, help="clients per room")
    parser.add_argument("--warmup", type=float, default=15)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--message-interval", type=float, default=5)
    parser.add_argument("--page-interval", type=float, default=10)
    args = parser.parse_args()
    with open(args.data) as data:
        setup = json.load(data)
    result = asyncio.run(
        soak_scenario(
            ws_url="ws" + args.url.removeprefix("http"),
            http_url=args.url,
            rooms=setup["rooms"][: args.rooms],
            session_cookie=setup["session_cookie"],
            clients_per_room=args.clients,
            warmup=args.warmup,
            duration=args.duration,
            message_interval=args.message_interval,
            page_interval=args.page_interval,
            server_pids=args.pid,
        )
    )
    print(summary("soak", result))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
