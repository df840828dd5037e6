"""Runs Educa's benchmark scenarios (issue 6) and prints one table.

Chat: one Daphne process serving directly (the chat targets hold for one process), with its own
throwaway PostgreSQL and redis-server (tests/servers.py), test settings, and the chat limits
raised through CHAT_RATE_LIMIT / CHAT_FRAME_BUDGET (the defaults stay strict).
HTTP: the native production stack (deploy/native.py, its own state folder bench/.stack and free
ports) unless --smoke, which loads the same Daphne briefly instead.

    python bench/run.py            # make bench: full sizes, a few minutes
    python bench/run.py --smoke    # make bench-smoke: tiny sizes, correctness only

Writes bench/results/latest.json (or --out).
"""

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "deploy")]

from chat_load import chat_scenario, summary  # noqa: E402
from http_load import http_scenario  # noqa: E402

from tests.servers import AsgiServer, PostgresServer, RedisServer, free_port  # noqa: E402

RAISED_LIMITS = {
    "CHAT_RATE_LIMIT": "1000000/10s",
    "CHAT_FRAME_BUDGET": "1000000/10s",
    "API_THROTTLE_ANON": "100000000/m",
    "API_THROTTLE_USER": "100000000/m",
}
# (name, rooms, clients per room, messages per client, seconds between messages)
CHAT_FULL = [("chat latency", 4, 25, 10, 0.5), ("chat throughput", 4, 25, 20, 0.05)]
CHAT_SMOKE = [("chat latency", 1, 3, 3, 0.1), ("chat throughput", 1, 3, 3, 0.02)]
# (name, path, target requests/s); {slug} is a benchmark course.
HTTP_PAGES = [
    ("catalogue /", "/", 1400),
    ("course page", "/course/{slug}/", 1400),
    ("API /api/courses/", "/api/courses/", 800),
]


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
    else:
        p99 = result["latency_ms"]["p99"]
        rows.append(
            {"scenario": name, "figure": "p99 ms", "value": p99, "target": "<= 150",
             "pass": p99 is not None and p99 <= 150}
        )  # fmt: skip
    return rows


def run_chat(ws_url: str, rooms: list[dict], sizes: list[tuple]) -> tuple[dict, list[dict]]:
    results, rows = {}, []
    for name, room_count, clients, messages, interval in sizes:
        result = asyncio.run(
            chat_scenario(
                url=ws_url,
                rooms=rooms[:room_count],
                clients_per_room=clients,
                messages=messages,
                interval=interval,
                timeout=30 + messages * interval * 4,
            )
        )
        print(summary(name, result), flush=True)
        results[name] = result
        rows += chat_rows(name, result, throughput="throughput" in name)
    return results, rows


def run_http(base_url: str, slug: str, duration: float) -> tuple[dict, list[dict]]:
    results, rows = {}, []
    for name, path, target in HTTP_PAGES:
        result = http_scenario(base_url.rstrip("/") + path.format(slug=slug), duration=duration)
        print(f"{name}: {result}", flush=True)
        results[name] = result
        rate = result["requests_per_s"]
        rows.append(
            {"scenario": f"HTTP {name}", "figure": "requests/s", "value": rate,
             "target": f">= {target}", "pass": rate >= target and result["non_2xx_3xx"] == 0}
        )  # fmt: skip
    return results, rows


def native_http(slug_rooms: int, students: int, duration: float, data_file: Path) -> tuple:
    """Start the native stack in bench/.stack (unless it runs), load it, stop what was started."""
    import native

    os.environ.update(RAISED_LIMITS)
    os.environ.setdefault("PROD_HTTPS_PORT", str(free_port()))
    os.environ.setdefault("PROD_HTTP_PORT", str(free_port()))
    stack = native.Stack(ROOT / "bench" / ".stack")
    started = not stack.running_services()
    if started:
        stack.start()
    try:
        stack.manage(
            ["bench_setup", f"--rooms={slug_rooms}", f"--students={students}", f"--out={data_file}"]
        )
        slug = json.loads(data_file.read_text())["rooms"][0]["slug"]
        return run_http(stack.url, slug, duration)
    finally:
        if started:
            stack.stop()


def print_table(rows: list[dict]) -> None:
    header = f"{'scenario':<24} {'figure':<14} {'value':>12} {'target':>10}  result"
    print(header)
    print("-" * len(header))
    for row in rows:
        verdict = "pass" if row["pass"] else "FAIL"
        print(
            f"{row['scenario']:<24} {row['figure']:<14} {row['value']!s:>12} "
            f"{row['target']:>10}  {verdict}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, correctness only")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    args = parser.parse_args()
    sizes = CHAT_SMOKE if args.smoke else CHAT_FULL
    rooms = max(size[1] for size in sizes)
    students = max(size[2] for size in sizes)
    http_duration = 2.0 if args.smoke else 10.0
    work = Path(tempfile.mkdtemp(prefix="educa-bench-"))
    data_file = work / "bench.json"

    postgres, redis = PostgresServer(), RedisServer()
    daphne = None
    try:
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
        manage(
            ["bench_setup", f"--rooms={rooms}", f"--students={students}", f"--out={data_file}"],
            env,
        )
        daphne = AsgiServer("daphne", env)
        daphne.start()
        bench_rooms = json.loads(data_file.read_text())["rooms"]
        chat, rows = run_chat(daphne.ws_url, bench_rooms, sizes)
        if args.smoke:
            http, http_rows = run_http(daphne.url, bench_rooms[0]["slug"], http_duration)
        else:
            http, http_rows = native_http(1, 1, http_duration, work / "native.json")
        rows += http_rows
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
        "command": "bench/run.py" + (" --smoke" if args.smoke else ""),
        "smoke": args.smoke,
        "chat": chat,
        "http": http,
        "table": rows,
    }
    args.out.write_text(json.dumps(report, indent=2))
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
