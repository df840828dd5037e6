"""Idle load: thousands of token-authenticated WebSocket clients that connect, then say nothing.

Measures what an idle socket costs the server (issue 6: <= 25 KiB of RSS per connection, counting
the process that serves the sockets). The server is warmed up first (a few sockets opened and
closed, so code paths, the room hub and pools exist), then its RSS is read with no socket open;
then every socket is opened (one per member of each room, round after round while there are more
sockets than members: at most `max_per_user` per user), each waits for its `presence` frame, and
once the server has gone quiet its RSS is read again. Per connection = (after - before) / opened.

Clients read everything the server sends (presence notices of the others joining), so nothing
waits in the server's send buffers; they send no ping (a browser does not either; the server
pings them). The caller needs an open-file limit above the socket count (process_stats).

    python -m bench.idle_load --url ws://127.0.0.1:8000 --data bench.json --pid <server pid> \
        --connections 5000
"""

import argparse
import asyncio
import contextlib
import json
import math
import time
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection, connect

from bench.process_stats import raise_nofile, rss_kib, wait_quiet

HANDSHAKES_AT_ONCE = 50
PRESENCE_TIMEOUT = 60.0


@dataclass
class Sockets:
    url: str
    open: list[ClientConnection] = field(default_factory=list)
    readers: list[asyncio.Task] = field(default_factory=list)
    connect_failures: int = 0
    closed_by_server: int = 0
    closing: bool = False


def socket_plan(rooms: list[dict], connections: int, max_per_user: int) -> list[tuple[int, str]]:
    """(room id, token) per socket: every member once, then again, ... up to `connections`."""
    members = [(room["course_id"], member["token"]) for room in rooms for member in room["members"]]
    if not members:
        raise ValueError("no room members: run manage.py bench_setup first")
    rounds = math.ceil(connections / len(members))
    if rounds > max_per_user:
        raise ValueError(
            f"{connections} sockets over {len(members)} users is {rounds} per user, over the "
            f"limit of {max_per_user}: create more users (bench_setup --rooms/--students)"
        )
    return (members * rounds)[:connections]


async def _read(ws: ClientConnection, sockets: Sockets) -> None:
    with contextlib.suppress(Exception):
        async for _ in ws:
            pass
    if not sockets.closing:
        sockets.closed_by_server += 1


async def _open(sockets: Sockets, room_id: int, token: str, handshakes: asyncio.Semaphore):
    async with handshakes:
        try:
            ws = await connect(
                f"{sockets.url}/ws/chat/room/{room_id}/",
                additional_headers={"Authorization": f"Token {token}"},
                open_timeout=PRESENCE_TIMEOUT,
                ping_interval=None,
                max_size=2**20,
            )
        except Exception:
            sockets.connect_failures += 1
            return
        try:
            async with asyncio.timeout(PRESENCE_TIMEOUT):
                while json.loads(await ws.recv()).get("type") != "presence":
                    pass
        except Exception:
            sockets.connect_failures += 1
            await ws.close()
            return
    sockets.open.append(ws)
    sockets.readers.append(asyncio.create_task(_read(ws, sockets)))


async def open_sockets(url: str, plan: list[tuple[int, str]]) -> Sockets:
    """Open every planned socket (HANDSHAKES_AT_ONCE at a time); failures are counted."""
    sockets = Sockets(url=url)
    handshakes = asyncio.Semaphore(HANDSHAKES_AT_ONCE)
    await asyncio.gather(*(_open(sockets, room, token, handshakes) for room, token in plan))
    return sockets


async def close_sockets(sockets: Sockets) -> None:
    sockets.closing = True
    await asyncio.gather(*(ws.close() for ws in sockets.open), return_exceptions=True)
    await asyncio.gather(*sockets.readers, return_exceptions=True)


async def idle_scenario(
    *,
    url: str,
    rooms: list[dict],
    connections: int,
    server_pid: int,
    max_per_user: int = 10,
    warmup: int = 50,
) -> dict:
    """Open `connections` idle sockets to `url` (ws://host:port); the server's RSS per socket."""
    plan = socket_plan(rooms, connections, max_per_user)
    raise_nofile(connections + 1024)

    warm = await open_sockets(url, plan[: min(warmup, connections)])
    await close_sockets(warm)
    await wait_quiet([server_pid])
    before = rss_kib(server_pid)

    started = time.perf_counter()
    sockets = await open_sockets(url, plan)
    open_s = time.perf_counter() - started
    settle_s = await wait_quiet([server_pid])
    after = rss_kib(server_pid)
    held = len(sockets.open) - sockets.closed_by_server

    await close_sockets(sockets)
    await wait_quiet([server_pid])
    closed = rss_kib(server_pid)
    return {
        "connections": connections,
        "rooms": len({room for room, _ in plan}),
        "users": len({token for _, token in plan}),
        "warmup_sockets": min(warmup, connections),
        "opened": len(sockets.open),
        "held_at_measurement": held,
        "connect_failures": sockets.connect_failures + warm.connect_failures,
        "closed_by_server": sockets.closed_by_server,
        "open_s": round(open_s, 1),
        "settle_s": settle_s,
        "rss_before_kib": before,
        "rss_open_kib": after,
        "rss_after_close_kib": closed,
        "kib_per_connection": round((after - before) / held, 2) if held else None,
    }


def summary(name: str, result: dict) -> str:
    return (
        f"{name}: {result['held_at_measurement']}/{result['connections']} sockets held, "
        f"{result['kib_per_connection']} KiB each (RSS {result['rss_before_kib']} -> "
        f"{result['rss_open_kib']} KiB, {result['rss_after_close_kib']} KiB once closed), "
        f"opened in {result['open_s']} s, connect failures {result['connect_failures']}, "
        f"closed by the server {result['closed_by_server']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="ws://127.0.0.1:8000")
    parser.add_argument("--data", required=True, help="JSON file written by manage.py bench_setup")
    parser.add_argument("--pid", type=int, required=True, help="the server process to measure")
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--max-per-user", type=int, default=10, help="CHAT_MAX_SOCKETS_PER_USER")
    args = parser.parse_args()
    with open(args.data) as data:
        rooms = json.load(data)["rooms"]
    result = asyncio.run(
        idle_scenario(
            url=args.url,
            rooms=rooms,
            connections=args.connections,
            server_pid=args.pid,
            max_per_user=args.max_per_user,
        )
    )
    print(summary("idle", result))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
