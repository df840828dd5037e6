"""Chat load generator: token-authenticated WebSocket clients that measure every delivery.

One client per room member (from the JSON file of `manage.py bench_setup`). Each client waits for
its `presence` frame, then sends `messages` messages, one every `interval` seconds, each with a
client_id naming the sender and a counter; the send time stays in this process. Clients are
independent people: their first sends are spread evenly over the first interval rather than
all fired at the same instant. Every member
(the sender included) should receive every message of its room once, in increasing seq order.
A scenario ends when every client has all its deliveries, or at the timeout plus a grace
period: deliveries after the timeout count as `late`, and `lost` counts what had still not
arrived at the end (never delivered, as far as the client could wait).

The server must run with raised limits, or the rate limit refuses messages and the frame budget
closes sockets: CHAT_RATE_LIMIT=100000/10s CHAT_FRAME_BUDGET=100000/10s (bench/run.py sets them).

    python -m bench.chat_load --url ws://127.0.0.1:8000 --data bench.json \
        --rooms 4 --clients 25 --messages 10 --interval 0.5
"""

import argparse
import asyncio
import contextlib
import json
import secrets
import ssl
import time
from collections import Counter
from dataclasses import dataclass, field

from websockets.asyncio.client import connect

HANDSHAKES_AT_ONCE = 20
# The native stack on loopback serves a self-signed certificate (deploy/native.py cert).
LOCAL_TLS = ssl.create_default_context()
LOCAL_TLS.check_hostname = False
LOCAL_TLS.verify_mode = ssl.CERT_NONE


@dataclass
class Client:
    room: int
    index: int
    username: str
    token: str
    expected: int = 0
    received: set[str] = field(default_factory=set)
    duplicates: int = 0
    out_of_order: int = 0
    last_seq: int = 0
    # Deliveries by the scenario's timeout, when it passed with some still missing.
    on_time: int | None = None


@dataclass
class Run:
    tag: str
    sent: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    last_delivery: float = 0.0
    errors: Counter = field(default_factory=Counter)
    connect_failures: int = 0


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


PERCENTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))


def latency_ms(seconds: list[float], percentiles=PERCENTILES) -> dict[str, float | None]:
    """Latencies in seconds as the reports show them: percentiles in milliseconds."""
    result = {}
    for name, fraction in percentiles:
        value = percentile(seconds, fraction)
        result[name] = None if value is None else round(value * 1000, 1)
    return result


async def room_socket(url: str, token: str):
    """A token-authenticated socket in a room, once its `presence` frame has arrived."""
    ws = await connect(
        url,
        additional_headers={"Authorization": f"Token {token}"},
        max_size=2**20,
        ssl=LOCAL_TLS if url.startswith("wss:") else None,
    )
    while json.loads(await ws.recv()).get("type") != "presence":
        pass
    return ws


async def deliveries_awaited(client, done, receiver, *, deadline: float, grace: float) -> None:
    """Wait for a client's deliveries (`done`) until the scenario's deadline; past it, what still
    arrives within `grace` seconds is late (`client.on_time` counts those in time), not lost."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), max(0.0, deadline - time.perf_counter()))
    if not done.is_set() and not receiver.done():
        client.on_time = len(client.received)
        await asyncio.wait([receiver], timeout=grace)
    receiver.cancel()


def scenario_arguments(description: str, *, messages: int, interval: float):
    """The command line of a chat scenario: server, rooms file and sizes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--url", default="ws://127.0.0.1:8000")
    parser.add_argument("--data", required=True, help="JSON file written by manage.py bench_setup")
    parser.add_argument("--rooms", type=int, default=4)
    parser.add_argument("--clients", type=int, default=25, help="clients per room")
    parser.add_argument("--messages", type=int, default=messages, help="messages per client")
    parser.add_argument("--interval", type=float, default=interval, help="seconds between messages")
    parser.add_argument("--timeout", type=float, default=120.0)
    return parser


def rooms_read(args) -> list[dict]:
    """The first --rooms rooms of the --data file."""
    with open(args.data) as data:
        return json.load(data)["rooms"][: args.rooms]


async def _receive(ws, client: Client, run: Run, done: asyncio.Event) -> None:
    async for frame in ws:
        now = time.perf_counter()
        data = json.loads(frame)
        kind = data.get("type")
        if kind == "error":
            run.errors[data.get("code")] += 1
            continue
        client_id = data.get("client_id") or ""
        if kind != "message" or not client_id.startswith(run.tag):
            continue
        if client_id in client.received:
            client.duplicates += 1
            continue
        client.received.add(client_id)
        if data["seq"] <= client.last_seq:
            client.out_of_order += 1
        client.last_seq = max(client.last_seq, data["seq"])
        run.latencies.append(now - run.sent[client_id])
        run.last_delivery = max(run.last_delivery, now)
        if len(client.received) >= client.expected:
            done.set()
            return


async def _client(
    client: Client,
    run: Run,
    *,
    url: str,
    messages: int,
    interval: float,
    handshakes: asyncio.Semaphore,
    ready: asyncio.Barrier,
    deadline: float,
    phase: float,
    grace: float,
) -> None:
    try:
        async with handshakes:
            ws = await room_socket(url, client.token)
    except Exception:
        run.connect_failures += 1
        await ready.abort()
        return
    async with ws:
        await ready.wait()
        done = asyncio.Event()
        receiver = asyncio.create_task(_receive(ws, client, run, done))
        await asyncio.sleep(phase * interval)
        for counter in range(messages):
            client_id = f"{run.tag}-{client.room}-{client.index}-{counter}"
            run.sent[client_id] = time.perf_counter()
            await ws.send(
                json.dumps({"type": "message", "message": client_id, "client_id": client_id})
            )
            await asyncio.sleep(interval)
        await deliveries_awaited(client, done, receiver, deadline=deadline, grace=grace)


async def chat_scenario(
    *,
    url: str,
    rooms: list[dict],
    clients_per_room: int,
    messages: int,
    interval: float,
    timeout: float = 120.0,
    grace: float = 10.0,
) -> dict:
    """Run one scenario against `url` (ws://host:port) and return its figures.

    Deliveries after `timeout` (from the start) count as `late`; those still missing `grace`
    seconds later as `lost`.
    """
    run = Run(tag=secrets.token_hex(4))
    clients = [
        Client(room=room["course_id"], index=index, **member)
        for room in rooms
        for index, member in enumerate(room["members"][:clients_per_room])
    ]
    members = Counter(client.room for client in clients)
    for client in clients:
        client.expected = messages * members[client.room]
    handshakes = asyncio.Semaphore(HANDSHAKES_AT_ONCE)
    ready = asyncio.Barrier(len(clients))
    deadline = time.perf_counter() + timeout
    await asyncio.gather(
        *(
            _client(
                client,
                run,
                url=f"{url}/ws/chat/room/{client.room}/",
                messages=messages,
                interval=interval,
                handshakes=handshakes,
                ready=ready,
                deadline=deadline,
                phase=position / len(clients),
                grace=grace,
            )
            for position, client in enumerate(clients)
        ),
        return_exceptions=True,
    )
    first_send = min(run.sent.values(), default=0.0)
    expected = sum(client.expected for client in clients)
    deliveries = sum(len(client.received) for client in clients)
    elapsed = run.last_delivery - first_send if deliveries else 0.0

    return {
        "rooms": len(rooms),
        "clients": len(clients),
        "messages_per_client": messages,
        "interval_s": interval,
        "offered_deliveries_per_s": round(
            sum(members[c.room] for c in clients) / interval if interval else 0
        ),
        "messages_sent": len(run.sent),
        "expected_deliveries": expected,
        "deliveries": deliveries,
        "lost": expected - deliveries,
        "late": sum(
            len(client.received) - client.on_time
            for client in clients
            if client.on_time is not None
        ),
        "duplicates": sum(client.duplicates for client in clients),
        "out_of_order": sum(client.out_of_order for client in clients),
        "errors": dict(run.errors),
        "connect_failures": run.connect_failures,
        "deliveries_per_s": round(deliveries / elapsed, 1) if elapsed > 0 else None,
        "latency_ms": latency_ms(run.latencies),
    }


def summary(name: str, result: dict) -> str:
    latency = result["latency_ms"]
    return (
        f"{name}: {result['deliveries']}/{result['expected_deliveries']} deliveries, "
        f"lost {result['lost']}, late {result['late']}, duplicates {result['duplicates']}, "
        f"out of order {result['out_of_order']}, {result['deliveries_per_s']} deliveries/s, "
        f"p50 {latency['p50']} ms, p99 {latency['p99']} ms, errors {result['errors']}, "
        f"connect failures {result['connect_failures']}"
    )


def main() -> None:
    args = scenario_arguments(__doc__.splitlines()[0], messages=10, interval=0.5).parse_args()
    rooms = rooms_read(args)
    result = asyncio.run(
        chat_scenario(
            url=args.url,
            rooms=rooms,
            clients_per_room=args.clients,
            messages=args.messages,
            interval=args.interval,
            timeout=args.timeout,
        )
    )
    print(summary("chat", result))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
