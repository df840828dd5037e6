"""Quiz attempts over HTTP: every student starts an attempt and submits it twice, all at once.

Each student (an API token of `bench_setup --quiz`) sends POST /api/contents/<id>/attempts/
twice at once (a double click: both must answer the same attempt), then
POST /api/attempts/<id>/submit/ with every answer right, then the same submission again, which
must record nothing. The database is read afterwards (`attempt_rows`): exactly one graded
attempt per student, none lost, none duplicated, and the repeated submission changed nothing.
"""

import asyncio
import time
from datetime import datetime

import httpx

from bench.chat_load import latency_ms

# Right answers to bench_setup's BENCH_QUESTIONS, by kind (option ids are fixed there).
BENCH_QUIZ_ANSWERS = {
    "single": [1],
    "multiple": [1, 2],
    "true_false": True,
    "numeric": 60,
    "text": "au",
}


def _answers(attempt: dict) -> dict:
    return {str(q["id"]): BENCH_QUIZ_ANSWERS[q["kind"]] for q in attempt["questions"]}


async def _student(client: httpx.AsyncClient, content_id: int, token: str, run: dict) -> None:
    headers = {"Authorization": f"Token {token}"}

    async def post(path: str, body: dict | None, expected: int) -> dict | None:
        started = time.perf_counter()
        try:
            response = await client.post(path, json=body, headers=headers)
        except httpx.HTTPError as error:
            run["errors"][type(error).__name__] = run["errors"].get(type(error).__name__, 0) + 1
            return None
        run["latencies"].append(time.perf_counter() - started)
        if response.status_code != expected:
            key = f"HTTP {response.status_code}"
            run["errors"][key] = run["errors"].get(key, 0) + 1
            return None
        return response.json()

    # Started twice at once, as a double click would: both answers must be the one attempt.
    start = f"/api/contents/{content_id}/attempts/"
    attempt, again = await asyncio.gather(post(start, None, 201), post(start, None, 201))
    if attempt is None or again is None:
        return
    if again["id"] != attempt["id"]:
        run["starts_split"] += 1
    body = {"answers": _answers(attempt)}
    first = await post(f"/api/attempts/{attempt['id']}/submit/", body, 200)
    second = await post(f"/api/attempts/{attempt['id']}/submit/", body, 200)
    if first is None or second is None:
        return
    run["submitted"][attempt["id"]] = datetime.fromisoformat(first["submitted"])
    run["passed"] += bool(first["passed"])
    if (second["submitted"], second["score"]) != (first["submitted"], first["score"]):
        run["recorded_twice"] += 1


async def quiz_scenario(*, base_url: str, content_id: int, tokens: list[str]) -> dict:
    """Start and submit (twice) one attempt per token concurrently: throughput and latencies."""
    run = {
        "latencies": [],
        "errors": {},
        "submitted": {},
        "passed": 0,
        "recorded_twice": 0,
        "starts_split": 0,
    }
    limits = httpx.Limits(max_connections=len(tokens), max_keepalive_connections=len(tokens))
    # verify=False: the native stack's certificate is self-signed.
    async with httpx.AsyncClient(
        base_url=base_url,
        limits=limits,
        timeout=60,
        verify=False,  # noqa: S501
    ) as client:
        started = time.perf_counter()
        await asyncio.gather(*(_student(client, content_id, token, run) for token in tokens))
        elapsed = time.perf_counter() - started

    return {
        "students": len(tokens),
        "requests": len(run["latencies"]),
        "elapsed_s": round(elapsed, 2),
        "attempts_per_s": round(len(run["submitted"]) / elapsed, 1),
        "latency_ms": latency_ms(run["latencies"]),
        "errors": run["errors"],
        "passed": run["passed"],
        "recorded_twice": run["recorded_twice"],
        "starts_split": run["starts_split"],
        "submitted": run["submitted"],
    }


def attempt_rows(database_url: str, content_id: int) -> list[tuple]:
    """(attempt id, student id, status, submitted) of every attempt at the quiz."""
    import psycopg

    with psycopg.connect(database_url) as connection:
        query = (
            "SELECT id, student_id, status, submitted FROM quizzes_attempt WHERE content_id = %s"
        )
        return connection.execute(query, [content_id]).fetchall()


def correctness(result: dict, rows: list[tuple]) -> dict:
    """Lost: students without a graded attempt; duplicates: attempts beyond one per student;
    recorded twice: a second submission answered or stored differently from the first."""
    graded_students = {student for _, student, status, _ in rows if status == "graded"}
    stored = {attempt: submitted for attempt, _, _, submitted in rows}
    changed = sum(
        1
        for attempt, submitted in result["submitted"].items()
        if attempt in stored and stored[attempt] != submitted
    )
    return {
        "attempt_rows": len(rows),
        "lost": result["students"] - len(graded_students),
        "duplicates": len(rows) - len({student for _, student, _, _ in rows}),
        "recorded_twice": result["recorded_twice"] + changed,
    }


def summary(name: str, result: dict) -> str:
    latency = result["latency_ms"]
    return (
        f"{name}: {result['students']} students, {result['attempts_per_s']} attempts/s, "
        f"p50 {latency['p50']} ms, p99 {latency['p99']} ms, lost {result['lost']}, "
        f"duplicates {result['duplicates']}, recorded twice "
        f"{result['recorded_twice']}, errors {result['errors']}"
    )
