"""Chat features load: the throughput scenario's traffic with replies, mentions and reactions.

One token-authenticated client per room member, as in bench/chat_load.py. Each sends `messages`
messages, one every `interval` seconds. Every fourth message of a client (counter 3, 7, ...) is a
reply to the last message it has seen from someone else, and its text mentions the next member of
the room (`@username`). One message in ten (numbered counter x clients + index in the room, so
they spread over the run) gets a reaction: the next client of the room toggles it on
(`{"type": "react", ...}`) as soon as the message arrives.

Each socket checks that it receives every message once in seq order and every change (`message`
and `message.updated` frames carry the room's `rev`) in increasing rev order, and keeps its view
of each message (text, reactions, the id it replies to) as the protocol says: a frame replaces
it unless the view already has a higher rev. A frame below the socket's highest rev is out of
order; it is told apart as a replay (the message's newer state: within a gap fill, new messages
come in seq order, each in its current state), a change it had already (repeated) or an older
state than the view's (stale). After the run, every recipient's view of every message is
compared with the database (the messages' rows and their Reaction rows).

    python -m bench.chat_features --url ws://127.0.0.1:8000 --data bench.json \
        --database-url postgres://... --rooms 4 --clients 25 --messages 20 --interval 0.05
"""

import asyncio
import contextlib
import json
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field

from bench.chat_load import (
    HANDSHAKES_AT_ONCE,
    deliveries_awaited,
    latency_ms,
    room_socket,
    rooms_read,
    scenario_arguments,
)

REPLY_EVERY = 4
REACTION_EVERY = 10
REACTION_EMOJI = ("👍", "❤️", "🎉", "💡")


def is_reply(counter: int) -> bool:
    return counter % REPLY_EVERY == REPLY_EVERY - 1


def gets_reaction(index: int, counter: int, clients: int) -> bool:
    return (counter * clients + index) % REACTION_EVERY == 0


def reaction_emoji(counter: int) -> str:
    return REACTION_EMOJI[counter % len(REACTION_EMOJI)]


@dataclass
class MessageView:
    """What one socket shows of one message: the state of the highest rev it received."""

    rev: int
    text: str | None
    reactions: dict[str, list[str]]
    reply_to: int | None


@dataclass
class FeatureClient:
    room: int
    index: int
    username: str
    token: str
    room_size: int = 0
    next_member: str = ""
    expected: int = 0
    expected_reactions: int = 0
    received: set[str] = field(default_factory=set)
    duplicates: int = 0
    out_of_order: int = 0
    last_seq: int = 0
    last_rev: int = 0
    # Frames with a rev below the socket's highest, split by what they are to the message:
    # its newer state (a gap fill's replay sends new messages in seq order, each in its current
    # state), the change it already had again, or an older state than the one it has.
    rev_replayed: int = 0
    changes_repeated: int = 0
    stale_states: int = 0
    updates: int = 0
    # message id -> this socket's view of it (this run's messages only)
    views: dict[int, MessageView] = field(default_factory=dict)
    # ids of this run's messages that are due a reaction, and of those seen with one
    reacted_ids: set[int] = field(default_factory=set)
    # The newest message received from someone else, else the newest of its own: what it replies to
    last_seen_id: int | None = None
    last_own_id: int | None = None
    seen_any: asyncio.Event = field(default_factory=asyncio.Event)
    on_time: int | None = None

    def rev_check(self, message_id: int, rev: int) -> None:
        if rev <= self.last_rev:
            held = self.views.get(message_id)
            if held is None or rev > held.rev:
                self.rev_replayed += 1
            elif rev == held.rev:
                self.changes_repeated += 1
            else:
                self.stale_states += 1
        self.last_rev = max(self.last_rev, rev)

    def finished(self) -> bool:
        return (
            len(self.received) >= self.expected and len(self.reacted_ids) >= self.expected_reactions
        )


@dataclass
class FeatureRun:
    tag: str
    sent: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    reaction_latencies: list[float] = field(default_factory=list)
    reacted_at: dict[int, float] = field(default_factory=dict)
    last_delivery: float = 0.0
    replies_sent: int = 0
    reactions_sent: int = 0
    errors: Counter = field(default_factory=Counter)
    connect_failures: int = 0


def _view(data: dict) -> MessageView:
    reply_to = data.get("reply_to")
    return MessageView(
        rev=data["rev"],
        text=data.get("message"),
        reactions={emoji: list(names) for emoji, names in (data.get("reactions") or {}).items()},
        reply_to=reply_to["id"] if isinstance(reply_to, dict) else None,
    )


def _parse_client_id(client_id: str) -> tuple[int, int]:
    """(index, counter) of the sender from `<tag>-<room>-<index>-<counter>`."""
    _, _, index, counter = client_id.rsplit("-", 3)
    return int(index), int(counter)


async def _receive(ws, client: FeatureClient, run: FeatureRun, done: asyncio.Event) -> None:
    async for frame in ws:
        now = time.perf_counter()
        data = json.loads(frame)
        kind = data.get("type")
        if kind == "error":
            run.errors[data.get("code")] += 1
            continue
        if kind not in ("message", "message.updated"):
            continue
        if kind == "message.updated":
            view = client.views.get(data.get("id"))
            if view is None:
                continue  # not one of this run's messages
            client.updates += 1
            client.rev_check(data["id"], data["rev"])
            if data["rev"] > view.rev:
                client.views[data["id"]] = _view(data)
            if data["reactions"] and data["id"] in run.reacted_at:
                if data["id"] not in client.reacted_ids:
                    run.reaction_latencies.append(now - run.reacted_at[data["id"]])
                client.reacted_ids.add(data["id"])
        else:
            client_id = data.get("client_id") or ""
            if not client_id.startswith(run.tag):
                continue
            if client_id in client.received:
                client.duplicates += 1
                continue
            client.received.add(client_id)
            if data["seq"] <= client.last_seq:
                client.out_of_order += 1
            client.last_seq = max(client.last_seq, data["seq"])
            client.rev_check(data["id"], data["rev"])
            run.latencies.append(now - run.sent[client_id])
            run.last_delivery = max(run.last_delivery, now)
            client.views[data["id"]] = _view(data)
            if data.get("user") != client.username:
                client.last_seen_id = data["id"]
            else:
                client.last_own_id = data["id"]
            client.seen_any.set()
            index, counter = _parse_client_id(client_id)
            if gets_reaction(index, counter, client.room_size):
                if data["reactions"]:
                    client.reacted_ids.add(data["id"])
                if (index + 1) % client.room_size == client.index:
                    # This client is the sender's next member: it reacts, as a person would.
                    run.reacted_at.setdefault(data["id"], time.perf_counter())
                    run.reactions_sent += 1
                    await ws.send(
                        json.dumps(
                            {"type": "react", "id": data["id"], "emoji": reaction_emoji(counter)}
                        )
                    )
        if client.finished():
            done.set()
            return


async def _client(
    client: FeatureClient,
    run: FeatureRun,
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
            frame = {"type": "message", "message": client_id, "client_id": client_id}
            if is_reply(counter):
                # Rarely (tiny runs), nothing has arrived yet: a reply waits for something to
                # answer.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(client.seen_any.wait(), grace)
                reply_to = client.last_seen_id or client.last_own_id
                if reply_to is not None:
                    frame["message"] = f"{client_id} @{client.next_member}"
                    frame["reply_to"] = reply_to
                    run.replies_sent += 1
            run.sent[client_id] = time.perf_counter()
            await ws.send(json.dumps(frame))
            await asyncio.sleep(interval)
        await deliveries_awaited(client, done, receiver, deadline=deadline, grace=grace)


def database_state(database_url: str, room_ids: list[int], tag: str) -> dict[int, MessageView]:
    """This run's messages as the database holds them: message id -> text, reactions (from the
    Reaction rows, first reaction first) and the id it replies to."""
    import psycopg

    pattern = f"{tag}-%"
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT id, rev, text, reply_to_id FROM chat_message"
            " WHERE room_id = ANY(%s) AND client_id LIKE %s",
            [room_ids, pattern],
        ).fetchall()
        state = {
            id_: MessageView(rev=rev, text=text, reactions={}, reply_to=reply_to)
            for id_, rev, text, reply_to in rows
        }
        reactions = connection.execute(
            "SELECT r.message_id, r.emoji, u.username FROM chat_reaction r"
            " JOIN chat_message m ON m.id = r.message_id JOIN auth_user u ON u.id = r.user_id"
            " WHERE m.room_id = ANY(%s) AND m.client_id LIKE %s ORDER BY r.id",
            [room_ids, pattern],
        ).fetchall()
    for message_id, emoji, username in reactions:
        state[message_id].reactions.setdefault(emoji, []).append(username)
    return state


def state_mismatches(
    clients: list[FeatureClient], stored: dict[int, MessageView]
) -> tuple[int, list[str]]:
    """(recipient x message pairs whose final view differs from the database, a few examples).
    A message a recipient never received is lost, not a mismatch."""
    mismatches, examples = 0, []
    for client in clients:
        for message_id, view in client.views.items():
            truth = stored.get(message_id)
            same = truth is not None and (view.text, view.reactions, view.reply_to) == (
                truth.text,
                truth.reactions,
                truth.reply_to,
            )
            if not same:
                mismatches += 1
                if len(examples) < 5:
                    examples.append(f"{client.username} #{message_id}: {view} != {truth}")
    return mismatches, examples


async def chat_features_scenario(
    *,
    url: str,
    rooms: list[dict],
    clients_per_room: int,
    messages: int,
    interval: float,
    database_url: str,
    timeout: float = 120.0,
    grace: float = 10.0,
) -> dict:
    """Run the scenario against `url` (ws://host:port) and return its figures; `database_url`
    is the server's database, read after the run for the final state of every message."""
    run = FeatureRun(tag=secrets.token_hex(4))
    clients = []
    for room in rooms:
        members = room["members"][:clients_per_room]
        reactions = sum(
            gets_reaction(index, counter, len(members))
            for index in range(len(members))
            for counter in range(messages)
        )
        for index, member in enumerate(members):
            clients.append(
                FeatureClient(
                    room=room["course_id"],
                    index=index,
                    room_size=len(members),
                    next_member=members[(index + 1) % len(members)]["username"],
                    expected=messages * len(members),
                    expected_reactions=reactions,
                    **member,
                )
            )
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
    stored = database_state(database_url, [room["course_id"] for room in rooms], run.tag)
    mismatches, examples = state_mismatches(clients, stored)
    first_send = min(run.sent.values(), default=0.0)
    expected = sum(client.expected for client in clients)
    deliveries = sum(len(client.received) for client in clients)
    elapsed = run.last_delivery - first_send if deliveries else 0.0

    return {
        "rooms": len(rooms),
        "clients": len(clients),
        "messages_per_client": messages,
        "interval_s": interval,
        "messages_sent": len(run.sent),
        "replies_sent": run.replies_sent,
        "reactions_sent": run.reactions_sent,
        "committed": len(stored),
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
        "expected_reaction_updates": sum(client.expected_reactions for client in clients),
        "reaction_updates": sum(len(client.reacted_ids) for client in clients),
        "updates_received": sum(client.updates for client in clients),
        "rev_out_of_order": sum(
            client.rev_replayed + client.changes_repeated + client.stale_states
            for client in clients
        ),
        "rev_replayed": sum(client.rev_replayed for client in clients),
        "changes_repeated": sum(client.changes_repeated for client in clients),
        "stale_states": sum(client.stale_states for client in clients),
        "state_compared": sum(len(client.views) for client in clients),
        "state_mismatches": mismatches,
        "state_mismatch_examples": examples,
        "errors": dict(run.errors),
        "connect_failures": run.connect_failures,
        "deliveries_per_s": round(deliveries / elapsed, 1) if elapsed > 0 else None,
        "latency_ms": latency_ms(run.latencies),
        "reaction_latency_ms": latency_ms(
            run.reaction_latencies, percentiles=(("p50", 0.5), ("p99", 0.99))
        ),
    }


def summary(name: str, result: dict) -> str:
    latency = result["latency_ms"]
    return (
        f"{name}: {result['deliveries']}/{result['expected_deliveries']} deliveries, "
        f"lost {result['lost']}, late {result['late']}, duplicates {result['duplicates']}, "
        f"out of order {result['out_of_order']} (seq) {result['rev_out_of_order']} (rev: "
        f"{result['rev_replayed']} replayed, {result['changes_repeated']} repeated, "
        f"{result['stale_states']} stale), "
        f"{result['replies_sent']} replies, {result['reactions_sent']} reactions "
        f"({result['reaction_updates']}/{result['expected_reaction_updates']} seen), "
        f"state mismatches {result['state_mismatches']}/{result['state_compared']}, "
        f"{result['deliveries_per_s']} deliveries/s, p50 {latency['p50']} ms, "
        f"p99 {latency['p99']} ms, errors {result['errors']}, "
        f"connect failures {result['connect_failures']}"
    )


def main() -> None:
    parser = scenario_arguments(__doc__.splitlines()[0], messages=20, interval=0.05)
    parser.add_argument("--database-url", required=True, help="the server's database")
    args = parser.parse_args()
    rooms = rooms_read(args)
    result = asyncio.run(
        chat_features_scenario(
            url=args.url,
            rooms=rooms,
            clients_per_room=args.clients,
            messages=args.messages,
            interval=args.interval,
            database_url=args.database_url,
            timeout=args.timeout,
        )
    )
    print(summary("chat features", result))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
