"""Educa across hosts: three application hosts behind Nginx, PostgreSQL and Redis on hosts of
their own (harness.py), chatting while hosts crash, restart and lose Redis.

Every scenario prints its figures (`make test-cluster` runs pytest with -s) and holds the chat's
guarantees across hosts: every member receives every message of its room once and in order,
and every message a client sent is committed once.
"""

import asyncio
import json
import time
from collections import Counter

import httpx
import pytest

from deploy.processes import ROOT, port_open
from tests.cluster.chat_clients import ChatRun, chat_run, summary
from tests.cluster.harness import (
    DAPHNE_PORT,
    HOST_COUNT,
    PRESENCE,
    REDIS_PORTS,
    SENTINEL_PORTS,
    Cluster,
)

BENCH_RESULTS = ROOT / "bench" / "results" / "latest.json"
# Presence of a crashed process is gone within CHAT_PRESENCE_TTL + CHAT_HEARTBEAT, plus the
# time for the survivors' next heartbeat to reap it.
PRESENCE_GONE_WITHIN = float(PRESENCE["CHAT_PRESENCE_TTL"]) + 3 * float(PRESENCE["CHAT_HEARTBEAT"])
PARTITION_SECONDS = 10.0
# Starting the cluster and a rolling restart each take minutes on a busy 2-core machine.
pytestmark = pytest.mark.timeout(600)


def chat(
    cluster: Cluster,
    *,
    rooms: int,
    clients: int,
    messages: int,
    interval: float,
    during=None,
    timeout: float = 180.0,
) -> ChatRun:
    """A chat run through the balancer, from inside its namespace; prints nothing."""
    start_seqs = cluster.room_seqs()
    coroutine = chat_run(
        url=cluster.ws_url,
        tls=cluster.tls(),
        rooms=cluster.rooms[:rooms],
        clients_per_room=clients,
        start_seqs=start_seqs,
        messages=messages,
        interval=interval,
        timeout=timeout,
        during=during,
    )
    return cluster.lb.call(asyncio.run, coroutine)


def figures_of(cluster: Cluster, run: ChatRun) -> dict:
    figures = run.figures()
    figures["committed"], figures["committed_client_ids"] = cluster.committed(run.tag)
    return figures


def assert_every_message_once_in_order(figures: dict) -> None:
    assert figures["messages_sent"] > 0
    assert figures["committed"] == figures["committed_client_ids"] == figures["messages_sent"]
    assert figures["unacknowledged"] == 0
    assert figures["lost"] == 0
    assert figures["duplicates"] == 0
    assert figures["out_of_order"] == 0


def one_host_figures() -> str:
    """The benchmark's figures for the same load on one host, when a benchmark has run."""
    if not BENCH_RESULTS.exists():
        return "one host: no benchmark results (make bench)"
    report = json.loads(BENCH_RESULTS.read_text())
    lines = []
    for name, result in {**report["chat"], **report.get("chat_via_nginx", {})}.items():
        if name.startswith("chat latency"):
            lines.append(
                f"one host, {name} ({report['date']}): {result['deliveries_per_s']} deliveries/s, "
                f"p99 {result['latency_ms']['p99']} ms"
            )
    return "\n".join(lines)


def test_every_member_receives_every_message_across_three_hosts(whole_cluster):
    cluster = whole_cluster
    log_start = cluster.access_log_size()
    # The benchmark's "chat latency" load: 4 rooms x 25 clients, 10 messages each every 0.5 s.
    run = chat(cluster, rooms=4, clients=25, messages=10, interval=0.5)
    figures = figures_of(cluster, run)
    upstreams = cluster.socket_upstreams(since=log_start)
    print()
    print(summary(f"{HOST_COUNT} hosts, 4 rooms x 25 clients", figures))
    print(one_host_figures())
    print(f"sockets per host: {dict(sorted(upstreams.items()))}")
    assert_every_message_once_in_order(figures)
    assert figures["reconnects"] == 0
    assert len(upstreams) == HOST_COUNT


def test_a_killed_hosts_clients_resume_on_the_others(whole_cluster):
    cluster = whole_cluster
    victim = cluster.hosts[1]
    outcome = {}

    async def kill_mid_chat(run: ChatRun) -> None:
        run.hold.set()
        await asyncio.sleep(2.5)
        before = await asyncio.to_thread(cluster.presence_entries)
        await asyncio.to_thread(victim.kill)
        killed_at = time.monotonic()
        await asyncio.sleep(1.0)
        cut_off = {member.username for member in run.disconnected_members()}
        outcome["killed_processes"] = {pid for pid, users in before.items() if users & cut_off}
        outcome["cut_off"] = len(cut_off)
        while time.monotonic() - killed_at < 4 * PRESENCE_GONE_WITHIN:
            if not outcome["killed_processes"] & set(cluster.presence_entries()):
                outcome["presence_gone_after"] = round(time.monotonic() - killed_at, 1)
                break
            await asyncio.sleep(0.25)
        run.hold.clear()

    run = chat(cluster, rooms=3, clients=10, messages=10, interval=0.5, during=kill_mid_chat)
    figures = figures_of(cluster, run)
    print()
    print(summary(f"host {victim.number} killed (SIGKILL) mid-chat", figures))
    print(
        f"{outcome['cut_off']} clients lost their socket and resumed elsewhere; the dead "
        f"process's presence was gone after {outcome.get('presence_gone_after')} s"
    )
    assert_every_message_once_in_order(figures)
    assert outcome["cut_off"] > 0
    assert len(outcome["killed_processes"]) == 1
    assert outcome.get("presence_gone_after", float("inf")) <= PRESENCE_GONE_WITHIN


async def browse(cluster: Cluster, paths: list[str], statuses: Counter, stop: asyncio.Event):
    """GET `paths` through the balancer in turn until `stop`, counting the answers."""
    async with httpx.AsyncClient(base_url=cluster.https_url, verify=cluster.tls()) as client:
        while not stop.is_set():
            for path in paths:
                try:
                    response = await client.get(path, timeout=30)
                    statuses[response.status_code] += 1
                except httpx.HTTPError as error:
                    statuses[type(error).__name__] += 1
            await asyncio.sleep(0.05)


def test_a_rolling_restart_loses_no_message_and_fails_no_page(whole_cluster):
    cluster = whole_cluster
    room = cluster.rooms[0]
    paths = ["/", f"/course/{room['slug']}/", "/api/courses/"]
    statuses = Counter()
    timing = {}

    async def roll(run: ChatRun) -> None:
        run.hold.set()
        stop = asyncio.Event()
        browser = asyncio.create_task(browse(cluster, paths, statuses, stop))
        await asyncio.sleep(1.0)
        timing["start"] = time.perf_counter()
        for host in cluster.hosts:
            began = time.perf_counter()
            await asyncio.to_thread(host.stop)
            stopped = time.perf_counter()
            await asyncio.to_thread(host.start)
            started = time.perf_counter()
            timing[f"host {host.number}"] = (
                f"stopped in {stopped - began:.1f} s, started in {started - stopped:.1f} s"
            )
        timing["end"] = time.perf_counter()
        await asyncio.sleep(1.0)
        stop.set()
        await browser
        run.hold.clear()

    run = chat(cluster, rooms=3, clients=10, messages=10, interval=0.5, during=roll, timeout=420)
    figures = figures_of(cluster, run)
    print()
    print(summary("rolling restart of every host (SIGTERM drains, then start)", figures))
    print(
        f"the roll took {timing['end'] - timing['start']:.1f} s; pages and API answers: "
        f"{dict(statuses)}"
    )
    print({name: value for name, value in timing.items() if name.startswith("host")})
    assert_every_message_once_in_order(figures)
    # The chat went on through the whole roll.
    assert max(run.sent.values()) > timing["end"]
    # Every socket of a draining host was closed with 1012 after its frames were stored, none
    # dropped (1006) and no handshake refused: each member resumed at once on another host.
    assert figures["reconnects"] > 0
    assert figures["closes"] == {1012: figures["reconnects"]}
    assert set(statuses) == {200}


def test_a_redis_master_failover_loses_no_message(whole_cluster):
    cluster = whole_cluster
    outcome = {}

    async def fail_over(run: ChatRun) -> None:
        run.hold.set()
        await asyncio.sleep(2.0)
        killed_at = time.monotonic()
        await asyncio.to_thread(cluster.kill_redis_master_and_wait_for_failover)
        outcome["promoted_after"] = round(time.monotonic() - killed_at, 1)
        # Past CHAT_PRESENCE_TTL: what the new master holds was renewed there, not replicated.
        await asyncio.sleep(float(PRESENCE["CHAT_PRESENCE_TTL"]))
        entries = await asyncio.to_thread(cluster.presence_entries)
        outcome["present"] = set().union(*entries.values())
        run.hold.clear()

    run = chat(cluster, rooms=3, clients=10, messages=10, interval=0.5, during=fail_over)
    figures = figures_of(cluster, run)

    # New sockets, after the failover, on hosts that were not restarted.
    after = chat(cluster, rooms=3, clients=10, messages=3, interval=0.5)
    after_figures = figures_of(cluster, after)
    print()
    print(summary("Redis master killed (SIGKILL) mid-chat, Sentinel failover", figures))
    members = {member.username for member in run.members}
    print(
        f"the Sentinels promoted the replica {outcome['promoted_after']} s after the kill; "
        f"{len(members & outcome['present'])} of the {len(members)} members online in its "
        "presence sets"
    )
    print(summary("new sockets after the failover", after_figures))
    assert cluster.redis_master_port() == REDIS_PORTS[1]
    assert members <= outcome["present"]
    assert_every_message_once_in_order(figures)
    assert_every_message_once_in_order(after_figures)
    assert after_figures["reconnects"] == 0
    assert after_figures["closes"] == {}


def test_a_host_cut_from_redis_gets_what_it_missed_through_the_database(whole_cluster):
    cluster = whole_cluster
    host = cluster.hosts[0]
    redis_address = cluster.redis_address
    log_start = cluster.access_log_size()
    partition = {}

    async def cut_for_a_while(run: ChatRun) -> None:
        run.hold.set()
        await asyncio.sleep(2.0)
        await asyncio.to_thread(host.namespace.cut_from, redis_address)
        try:
            partition["reachable_during"] = await asyncio.to_thread(
                host.namespace.call, port_open, SENTINEL_PORTS[0], redis_address
            )
            await asyncio.sleep(PARTITION_SECONDS)
        finally:
            await asyncio.to_thread(host.namespace.heal_to, redis_address)
        partition["reachable_after"] = await asyncio.to_thread(
            host.namespace.call, port_open, SENTINEL_PORTS[0], redis_address
        )
        await asyncio.sleep(2.0)
        run.hold.clear()

    run = chat(cluster, rooms=3, clients=10, messages=10, interval=0.5, during=cut_for_a_while)
    figures = figures_of(cluster, run)
    upstreams = cluster.socket_upstreams(since=log_start)
    print()
    print(summary(f"host {host.number} cut from Redis for {PARTITION_SECONDS:g} s", figures))
    print(f"sockets per host: {dict(sorted(upstreams.items()))}")
    assert partition == {"reachable_during": False, "reachable_after": True}
    assert upstreams[f"{host.namespace.address}:{DAPHNE_PORT}"] > 0
    assert_every_message_once_in_order(figures)
    # Nothing was closed: the cut host's sockets stayed open and caught up from the database.
    assert figures["reconnects"] == 0
