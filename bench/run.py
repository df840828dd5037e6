"""Runs Educa's benchmark scenarios (issue 6) and prints one table.

Chat: one Daphne process serving directly (the chat targets hold for one process), with its own
throwaway PostgreSQL and redis-server (deploy/processes.py), test settings, and the chat limits
raised through CHAT_RATE_LIMIT / CHAT_FRAME_BUDGET (the defaults stay strict).
HTTP: the native production stack (deploy/stack.py, its own state folder bench/.stack and free
ports) under the benchmark settings (educa.settings.bench: production's plus the bench app and
its commands) unless --smoke, which loads the same Daphne briefly instead.

    python -m bench.run            # make bench: full sizes, a few minutes
    python -m bench.run --smoke    # make bench-smoke: tiny sizes, correctness only
    python -m bench.run --only quiz   # only the quiz attempts (also with --smoke)

Writes bench/results/latest.json (or --out).
"""

import argparse
import asyncio
import gc
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from bench.chart import latency_chart, report_latencies
from bench.chat_features import chat_features_scenario
from bench.chat_features import summary as features_summary
from bench.chat_load import chat_scenario, summary
from bench.http_load import http_scenario
from bench.idle_load import idle_scenario
from bench.idle_load import summary as idle_summary
from bench.process_stats import raise_nofile
from bench.quiz_load import attempt_rows, correctness, quiz_scenario
from bench.quiz_load import summary as quiz_summary
from bench.soak import soak_scenario
from bench.soak import summary as soak_summary
from deploy.processes import ROOT, AsgiServer, PostgresServer, RedisServer, free_port
from deploy.stack import Stack

BENCH_SETTINGS = "educa.settings.bench"
RAISED_LIMITS = {
    "CHAT_RATE_LIMIT": "1000000/10s",
    "CHAT_FRAME_BUDGET": "1000000/10s",
    "API_THROTTLE_ANON": "100000000/m",
    "API_THROTTLE_USER": "100000000/m",
}
# (name, rooms, clients per room, messages per client, seconds between messages)
CHAT_FULL = [("chat latency", 4, 25, 10, 0.5), ("chat throughput", 4, 25, 20, 0.05)]
CHAT_SMOKE = [("chat latency", 1, 3, 3, 0.1), ("chat throughput", 1, 3, 3, 0.02)]
# The throughput scenario with replies, mentions and reactions (bench/chat_features.py), held
# to the plain throughput scenario of the same run: (rooms, clients per room, messages per
# client, seconds between messages), and how far it may fall behind.
CHAT_FEATURES_FULL = (4, 25, 20, 0.05)
CHAT_FEATURES_SMOKE = (1, 4, 8, 0.02)
FEATURES_MAX_SLOWDOWN = 0.2
# Idle sockets (issue 6): (sockets, rooms, students per room), one socket per student, so the
# per-user socket limit (CHAT_MAX_SOCKETS_PER_USER) keeps its default.
IDLE_FULL = (5000, 200, 25)
IDLE_SMOKE = (50, 2, 25)
# Soak (issue 7): (rooms, clients per room, warm-up s, soak s, s between a client's messages,
# s between its pages).
SOAK_FULL = (8, 25, 15.0, 60.0, 5.0, 10.0)
SOAK_SMOKE = (2, 5, 1.0, 3.0, 0.5, 0.5)
# (name, path, target requests/s, logged in): {slug}, {course_id} and {module_id} name a
# benchmark course and its first module; a logged-in page is asked for by one of its students.
HTTP_PAGES = [
    ("catalogue /", "/", 1400, False),
    ("course page", "/course/{slug}/", 1400, False),
    ("API /api/courses/", "/api/courses/", 800, False),
    ("study view", "/students/course/{course_id}/{module_id}/", 400, True),
]
# The study view's course has a quiz in every module (bench_setup --quiz).
HTTP_SETUP = ["--rooms=1", "--students=1", "--modules=3", "--contents=3", "--quiz", "--sessions"]
# Quiz attempts: students of one course who each start an attempt and submit it twice.
QUIZ_FULL = 200
QUIZ_SMOKE = 5


def manage(arguments: list[str], env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )


def chat_rows(name: str, result: dict, *, throughput: bool) -> list[dict]:
    rows = [
        {"scenario": name, "figure": figure, "value": result[figure], "target": "= 0",
         "pass": result[figure] == 0}
        for figure in ("lost", "duplicates", "out_of_order")
    ]  # fmt: skip
    if throughput:
        rate = result["deliveries_per_s"] or 0
        rows.append(
            {"scenario": name, "figure": "deliveries/s", "value": rate, "target": ">= 20000",
             "pass": rate >= 20000}
        )  # fmt: skip
        sent = result["messages_sent"]
        rows.append(
            {"scenario": name, "figure": "committed", "value": result["committed"],
             "target": f"= {sent}", "pass": result["committed"] == sent}
        )  # fmt: skip
    else:
        p99 = result["latency_ms"]["p99"]
        rows.append(
            {"scenario": name, "figure": "p99 ms", "value": p99, "target": "<= 150",
             "pass": p99 is not None and p99 <= 150}
        )  # fmt: skip
    return rows


def run_clients(scenario):
    """Run a chat load scenario with this process's garbage collector off: a collection of the
    clients' bookkeeping (tens of thousands of objects) would stop every client at once, and
    show as the server's latency."""
    gc.collect()
    gc.disable()
    try:
        return asyncio.run(scenario)
    finally:
        gc.enable()


def run_chat(
    ws_url: str, rooms: list[dict], sizes: list[tuple], database_url: str
) -> tuple[dict, list[dict]]:
    results, rows = {}, []
    for name, room_count, clients, messages, interval in sizes:
        room_ids = [room["course_id"] for room in rooms[:room_count]]
        committed_before = messages_committed(database_url, room_ids)
        result = run_clients(
            chat_scenario(
                url=ws_url,
                rooms=rooms[:room_count],
                clients_per_room=clients,
                messages=messages,
                interval=interval,
                timeout=30 + messages * interval * 4,
            )
        )
        # Every acknowledged message is committed before anyone receives it: rows, not frames.
        result["committed"] = messages_committed(database_url, room_ids) - committed_before
        print(summary(name, result), f"committed {result['committed']}", flush=True)
        results[name] = result
        rows += chat_rows(name, result, throughput="throughput" in name)
    return results, rows


def run_chat_features(
    ws_url: str, rooms: list[dict], size: tuple, database_url: str, plain: dict
) -> tuple[dict, list[dict]]:
    """The chat features scenario, compared with `plain` (the throughput scenario's result)."""
    room_count, clients, messages, interval = size
    result = run_clients(
        chat_features_scenario(
            url=ws_url,
            rooms=rooms[:room_count],
            clients_per_room=clients,
            messages=messages,
            interval=interval,
            database_url=database_url,
            timeout=30 + messages * interval * 4,
        )
    )
    rate, plain_rate = result["deliveries_per_s"] or 0, plain["deliveries_per_s"] or 0
    p99, plain_p99 = result["latency_ms"]["p99"], plain["latency_ms"]["p99"]
    result["throughput_deliveries_per_s"], result["throughput_p99_ms"] = plain_rate, plain_p99
    result["deliveries_per_s_ratio"] = round(rate / plain_rate, 3) if plain_rate else None
    result["p99_ratio"] = round(p99 / plain_p99, 3) if p99 and plain_p99 else None
    name = "chat features"
    print(features_summary(name, result), flush=True)
    print(
        f"{name} vs chat throughput: {rate} vs {plain_rate} deliveries/s "
        f"(ratio {result['deliveries_per_s_ratio']}), p99 {p99} vs {plain_p99} ms "
        f"(ratio {result['p99_ratio']})",
        flush=True,
    )
    rows = [
        {"scenario": name, "figure": figure, "value": result[figure], "target": "= 0",
         "pass": result[figure] == 0}
        for figure in ("lost", "duplicates", "out_of_order", "rev_out_of_order",
                       "state_mismatches")
    ]  # fmt: skip
    reactions, expected = result["reaction_updates"], result["expected_reaction_updates"]
    sent = result["messages_sent"]
    least_rate = round(plain_rate * (1 - FEATURES_MAX_SLOWDOWN), 1)
    most_p99 = None if plain_p99 is None else round(plain_p99 * (1 + FEATURES_MAX_SLOWDOWN), 1)
    rows += [
        {"scenario": name, "figure": "reactions seen", "value": reactions,
         "target": f"= {expected}", "pass": reactions == expected},
        {"scenario": name, "figure": "committed", "value": result["committed"],
         "target": f"= {sent}", "pass": result["committed"] == sent},
        {"scenario": name, "figure": "deliveries/s", "value": rate,
         "target": f">= {least_rate}", "pass": rate >= least_rate},
        {"scenario": name, "figure": "p99 ms", "value": p99, "target": f"<= {most_p99}",
         "pass": p99 is not None and most_p99 is not None and p99 <= most_p99},
    ]  # fmt: skip
    return result, rows


def messages_committed(database_url: str, room_ids: list[int]) -> int:
    """Chat messages stored in these rooms (a chat room's id is its course's)."""
    import psycopg

    with psycopg.connect(database_url) as connection:
        query = "SELECT count(*) FROM chat_message WHERE room_id = ANY(%s)"
        return connection.execute(query, [room_ids]).fetchone()[0]


def restart(server: AsgiServer) -> None:
    """A fresh server process: a memory figure must not inherit another scenario's heap."""
    server.stop()
    server.start()


def run_idle(server: AsgiServer, rooms: list[dict], size: tuple) -> tuple[dict, list[dict]]:
    connections = size[0]
    result = asyncio.run(
        idle_scenario(
            url=server.ws_url, rooms=rooms, connections=connections, server_pid=server.process.pid
        )
    )
    name = f"idle {connections} sockets"
    print(idle_summary(name, result), flush=True)
    per_socket, held = result["kib_per_connection"], result["held_at_measurement"]
    rows = [
        {"scenario": name, "figure": "sockets held", "value": held,
         "target": f"= {connections}", "pass": held == connections},
        {"scenario": name, "figure": "KiB/socket", "value": per_socket, "target": "<= 25",
         "pass": per_socket is not None and per_socket <= 25},
    ]  # fmt: skip
    return result, rows


def run_soak(server: AsgiServer, setup: dict, size: tuple) -> tuple[dict, list[dict]]:
    """Chat and pages on the one Daphne, so its RSS is the whole of the server's memory."""
    rooms, clients, warmup, duration, message_interval, page_interval = size
    result = asyncio.run(
        soak_scenario(
            ws_url=server.ws_url,
            http_url=server.url,
            rooms=setup["rooms"][:rooms],
            session_cookie=setup.get("session_cookie", "sessionid"),
            clients_per_room=clients,
            warmup=warmup,
            duration=duration,
            message_interval=message_interval,
            page_interval=page_interval,
            server_pids=[server.process.pid],
        )
    )
    name = f"soak {rooms * clients} clients {duration:g} s"
    print(soak_summary(name, result), flush=True)
    growth = result["rss_growth_pct"]
    rows = [
        {"scenario": name, "figure": "errors", "value": result["error_count"], "target": "= 0",
         "pass": result["error_count"] == 0},
        {"scenario": name, "figure": "RSS growth %", "value": growth, "target": "<= 10",
         "pass": growth <= 10},
    ]  # fmt: skip
    return result, rows


def run_http(base_url: str, setup: dict, duration: float) -> tuple[dict, list[dict]]:
    """Load each page of HTTP_PAGES; `setup` is bench_setup's output for HTTP_SETUP."""
    room = setup["rooms"][0]
    # A browser that has logged in holds the session and the CSRF cookie (its forms use it).
    session = f"{setup['session_cookie']}={room['members'][0]['session']}"
    cookie = f"{session}; csrftoken={secrets.token_hex(16)}"
    results, rows = {}, []
    for name, path, target, logged_in in HTTP_PAGES:
        url = base_url.rstrip("/") + path.format(
            slug=room["slug"], course_id=room["course_id"], module_id=room["module_ids"][0]
        )
        headers = {"Cookie": cookie} if logged_in else {}
        result = http_scenario(url, duration=duration, headers=headers)
        print(f"{name}: {result}", flush=True)
        results[name] = result
        rate = result["requests_per_s"]
        answered = result["warmup_status"] == 200 and result["non_2xx_3xx"] == 0
        rows.append(
            {"scenario": f"HTTP {name}", "figure": "requests/s", "value": rate,
             "target": f">= {target}", "pass": rate >= target and answered}
        )  # fmt: skip
    return results, rows


def run_quiz(base_url: str, run_manage, students: int, database_url: str, work: Path):
    """The quiz attempts scenario on bench room 1's first quiz: (result, rows)."""
    data_file = work / "quiz.json"
    run_manage(
        ["bench_setup", "--rooms=1", f"--students={students}", "--modules=1", "--contents=1",
         "--quiz", f"--out={data_file}"]
    )  # fmt: skip
    room = json.loads(data_file.read_text())["rooms"][0]
    content_id = room["quiz_ids"][0]
    tokens = [member["token"] for member in room["members"]]
    result = asyncio.run(quiz_scenario(base_url=base_url, content_id=content_id, tokens=tokens))
    result.update(correctness(result, attempt_rows(database_url, content_id)))
    del result["submitted"]
    name = f"quiz attempts x{students}"
    print(quiz_summary(name, result), flush=True)
    p99 = result["latency_ms"]["p99"]
    rows = [
        {"scenario": name, "figure": figure, "value": result[figure], "target": "= 0",
         "pass": result[figure] == 0}
        for figure in ("lost", "duplicates", "recorded_twice")
    ]  # fmt: skip
    rows += [
        {"scenario": name, "figure": "errors", "value": sum(result["errors"].values()),
         "target": "= 0", "pass": not result["errors"]},
        {"scenario": name, "figure": "attempts/s", "value": result["attempts_per_s"],
         "target": "reported", "pass": None},
        {"scenario": name, "figure": "p99 ms", "value": p99, "target": "reported", "pass": None},
    ]  # fmt: skip
    return result, rows


def query_rows(counts: dict) -> list[dict]:
    """One row per page: its queries (first request/repeated) with few and with many courses."""
    rows = []
    for name, sizes in counts["pages"].items():
        few, many = (f"{sizes[size]['first']}/{sizes[size]['repeat']}" for size in ("few", "many"))
        rows.append(
            {"scenario": f"SQL {name}", "figure": "queries", "value": f"{few} vs {many}",
             "target": "constant", "pass": sizes["few"] == sizes["many"]}
        )  # fmt: skip
    return rows


def http_part(
    base_url: str, run_manage, duration: float, work: Path, *, quiz_students: int, database_url: str
) -> tuple[dict, dict, dict, list]:
    """HTTP_SETUP's data, the HTTP scenarios, the query counts (bench_queries) and the quiz
    attempts: (http, queries, quiz, rows)."""
    run_manage(["bench_setup", *HTTP_SETUP, f"--out={work / 'http.json'}"])
    http, rows = run_http(base_url, json.loads((work / "http.json").read_text()), duration)
    run_manage(["bench_queries", f"--out={work / 'queries.json'}"])
    queries = json.loads((work / "queries.json").read_text())
    quiz, quiz_rows = run_quiz(base_url, run_manage, quiz_students, database_url, work)
    return http, queries, quiz, rows + query_rows(queries) + quiz_rows


def native_chat(stack, run_manage, sizes: list[tuple], work: Path) -> tuple[dict, list[dict]]:
    """The chat scenarios through Nginx to the stack's Daphne processes: reported, not held to
    the targets, which are for one Daphne serving directly."""
    rooms, students = max(size[1] for size in sizes), max(size[2] for size in sizes)
    data_file = work / "native-chat.json"
    run_manage(["bench_setup", f"--rooms={rooms}", f"--students={students}", f"--out={data_file}"])
    wss = stack.url.rstrip("/").replace("https://", "wss://", 1)
    results, rows = run_chat(
        wss,
        json.loads(data_file.read_text())["rooms"],
        [(f"{name} via Nginx", *size) for name, *size in sizes],
        stack.state["app_env"]["DATABASE_URL"],
    )
    for row in rows:
        row["target"], row["pass"] = "reported", None
    return results, rows


@contextmanager
def native_stack():
    """The native stack in bench/.stack or $BENCH_STACK_DIR (started unless it runs, stopped
    afterwards if started here) and a run_manage(arguments) for the benchmark's commands."""
    os.environ.update(RAISED_LIMITS)
    os.environ.setdefault("PROD_HTTPS_PORT", str(free_port()))
    os.environ.setdefault("PROD_HTTP_PORT", str(free_port()))
    stack = Stack(
        Path(os.environ.get("BENCH_STACK_DIR", ROOT / "bench" / ".stack")),
        settings_module=BENCH_SETTINGS,
    )
    started = not stack.running_services()
    if started:
        stack.start()

    def run_manage(arguments: list[str]) -> None:
        # The benchmark's commands exist under its settings only, also on a stack started by
        # `make prod`.
        if stack.manage(arguments, DJANGO_SETTINGS_MODULE=BENCH_SETTINGS) != 0:
            raise RuntimeError(f"manage.py {arguments[0]} failed on the native stack")

    try:
        yield stack, run_manage
    finally:
        if started:
            stack.stop()


def native_http(duration: float, work: Path, chat_sizes: list[tuple]) -> tuple:
    """Load the native stack (HTTP, then chat through Nginx): (http, queries, quiz, rows, chat)."""
    with native_stack() as (stack, run_manage):
        http, queries, quiz, rows = http_part(
            stack.url,
            run_manage,
            duration,
            work,
            quiz_students=QUIZ_FULL,
            database_url=stack.state["app_env"]["DATABASE_URL"],
        )
        chat, chat_rows = native_chat(stack, run_manage, chat_sizes, work)
        return http, queries, quiz, rows + chat_rows, chat


def native_quiz(work: Path) -> tuple[dict, list[dict]]:
    """Only the quiz attempts scenario, at full size, on the native stack (`--only quiz`)."""
    with native_stack() as (stack, run_manage):
        database_url = stack.state["app_env"]["DATABASE_URL"]
        return run_quiz(stack.url, run_manage, QUIZ_FULL, database_url, work)


def print_table(rows: list[dict]) -> None:
    header = f"{'scenario':<24} {'figure':<18} {'value':>12} {'target':>10}  result"
    print(header)
    print("-" * len(header))
    for row in rows:
        verdict = {True: "pass", False: "FAIL", None: "-"}[row["pass"]]
        print(
            f"{row['scenario']:<24} {row['figure']:<18} {row['value']!s:>12} "
            f"{row['target']:>10}  {verdict}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, correctness only")
    parser.add_argument(
        "--only",
        choices=("chat", "chat-features", "http", "quiz"),
        help="only the WebSocket scenarios, only chat throughput and chat features, only HTTP "
        "(quiz attempts included), or only quiz attempts",
    )
    parser.add_argument("--out", type=Path, help="default bench/results/latest[-ONLY].json")
    args = parser.parse_args()
    if args.out is None:
        name = f"latest-{args.only}.json" if args.only else "latest.json"
        args.out = ROOT / "bench" / "results" / name
    sockets = args.only in (None, "chat", "chat-features")
    pages = args.only in (None, "http")
    quiz_only = args.only == "quiz"
    # chat-features: the chat scenarios without the memory ones.
    memory = args.only != "chat-features"
    sizes = CHAT_SMOKE if args.smoke else CHAT_FULL
    features_size = CHAT_FEATURES_SMOKE if args.smoke else CHAT_FEATURES_FULL
    rooms = max(max(size[1] for size in sizes), features_size[0])
    students = max(max(size[2] for size in sizes), features_size[1])
    http_duration = 2.0 if args.smoke else 10.0
    idle_size = IDLE_SMOKE if args.smoke else IDLE_FULL
    soak_size = SOAK_SMOKE if args.smoke else SOAK_FULL
    # Thousands of sockets: for this process and the servers it starts (they inherit it).
    raise_nofile(idle_size[0] + 1024)
    work = Path(tempfile.mkdtemp(prefix="educa-bench-"))
    data_file = work / "bench.json"

    # The WebSocket scenarios, and the smoke run's HTTP ones, use a local Daphne.
    local = sockets or args.smoke
    postgres, redis = (PostgresServer(), RedisServer()) if local else (None, None)
    daphne = None
    rows, chat, chat_via_nginx, idle, soak, http, queries, quiz = [], {}, {}, {}, {}, {}, {}, {}
    try:
        if local:
            postgres.start()
            redis.start()
            env = {
                "DJANGO_SETTINGS_MODULE": "educa.settings.test",
                "DATABASE_URL": postgres.url,
                "REDIS_URL": redis.url,
                "MEMCACHED_LOCATION": "",
                "DJANGO_LOG_LEVEL": "WARNING",
                # As deploy/daphne.sh runs it: pooled, health-checked connections.
                "DJANGO_DB_POOL": "1",
                **RAISED_LIMITS,
            }
            manage(["migrate", "--no-input"], env)
        if sockets:
            manage(
                ["bench_setup", f"--rooms={rooms}", f"--students={students}", f"--out={data_file}"],
                env,
            )
        if sockets and memory:
            soak_rooms, soak_clients = soak_size[:2]
            manage(
                ["bench_setup", f"--rooms={soak_rooms}", f"--students={soak_clients}",
                 "--sessions", f"--out={work / 'soak.json'}"],
                env,
            )  # fmt: skip
            idle_sockets, idle_rooms, idle_students = idle_size
            manage(
                ["bench_setup", f"--rooms={idle_rooms}", f"--students={idle_students}",
                 "--modules=0", f"--out={work / 'idle.json'}"],
                env,
            )  # fmt: skip
        if local:
            daphne = AsgiServer("daphne", env)
            daphne.start()
        if sockets:
            bench_rooms = json.loads(data_file.read_text())["rooms"]
            idle_rows = []
            if memory:
                idle_setup = json.loads((work / "idle.json").read_text())
                idle, idle_rows = run_idle(daphne, idle_setup["rooms"], idle_size)
                restart(daphne)
            chat, rows = run_chat(daphne.ws_url, bench_rooms, sizes, postgres.url)
            # On the same, warm process as the throughput scenario (after the latency one): the
            # two are compared, so neither pays a fresh process's first queries and imports.
            chat["chat features"], features_rows = run_chat_features(
                daphne.ws_url, bench_rooms, features_size, postgres.url, chat["chat throughput"]
            )
            rows += features_rows
            if memory:
                restart(daphne)
                soak_setup = json.loads((work / "soak.json").read_text())
                soak, soak_rows = run_soak(daphne, soak_setup, soak_size)
                rows += idle_rows + soak_rows
        if pages and args.smoke:
            http, queries, quiz, http_rows = http_part(
                daphne.url,
                lambda arguments: manage(arguments, env),
                http_duration,
                work,
                quiz_students=QUIZ_SMOKE,
                database_url=postgres.url,
            )
            rows += http_rows
        elif pages:
            http, queries, quiz, http_rows, chat_via_nginx = native_http(http_duration, work, sizes)
            rows += http_rows
        elif quiz_only and args.smoke:
            quiz, rows = run_quiz(
                daphne.url, lambda arguments: manage(arguments, env), QUIZ_SMOKE, postgres.url, work
            )
        elif quiz_only:
            quiz, rows = native_quiz(work)
    finally:
        for server in (daphne, redis, postgres):
            if server is not None:
                server.close()
        shutil.rmtree(work, ignore_errors=True)

    print()
    print_table(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores",
        "command": " ".join(
            [
                "python -m bench.run",
                *(["--smoke"] if args.smoke else []),
                *(["--only", args.only] if args.only else []),
            ]
        ),
        "smoke": args.smoke,
        "chat": chat,
        "chat_via_nginx": chat_via_nginx,
        "idle": idle,
        "soak": soak,
        "http": http,
        "queries": queries,
        "quiz": quiz,
        "table": rows,
    }
    chart = args.out.parent / "latency.png"
    if args.smoke or args.only:
        chart = args.out.with_name(f"{args.out.stem}-latency.png")
    title = f"{report['command']}, {report['date']}, {report['machine']}"
    report["chart"] = str(latency_chart(report_latencies(report), chart, title=title))
    args.out.write_text(json.dumps(report, indent=2))
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
