"""`python -m bench.run --smoke` keeps working; it checks correctness, never speed."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def smoke_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "latest.json"
    finished = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", f"--out={out}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    return json.loads(out.read_text())


@pytest.mark.timeout(200)
@pytest.mark.parametrize("scenario", ["chat latency", "chat throughput"])
def test_smoke_chat_scenario_delivers_every_message_once_in_order(smoke_report, scenario):
    result = smoke_report["chat"][scenario]

    assert result["expected_deliveries"] == 27
    assert result["deliveries"] == 27
    assert (result["lost"], result["duplicates"], result["out_of_order"]) == (0, 0, 0)
    assert result["errors"] == {}


@pytest.mark.timeout(200)
def test_smoke_chat_features_delivers_every_message_once_in_seq_order(smoke_report):
    result = smoke_report["chat"]["chat features"]

    assert result["deliveries"] == result["expected_deliveries"] == 4 * 4 * 8
    assert (result["lost"], result["duplicates"], result["out_of_order"]) == (0, 0, 0)
    assert result["errors"] == {}


@pytest.mark.timeout(200)
def test_smoke_chat_features_sends_replies_and_every_member_sees_each_reaction(smoke_report):
    result = smoke_report["chat"]["chat features"]

    assert result["replies_sent"] == 4 * 2
    assert result["reactions_sent"] == 4
    assert result["reaction_updates"] == result["expected_reaction_updates"] == 4 * 4


@pytest.mark.timeout(200)
def test_smoke_chat_features_leaves_every_recipient_with_the_databases_state(smoke_report):
    result = smoke_report["chat"]["chat features"]

    assert result["committed"] == result["messages_sent"] == 4 * 8
    assert result["state_compared"] == 4 * 4 * 8
    assert result["state_mismatches"] == 0, result["state_mismatch_examples"]


@pytest.mark.timeout(200)
def test_smoke_http_scenarios_get_only_successful_answers(smoke_report):
    assert set(smoke_report["http"]) == {
        "catalogue /",
        "course page",
        "API /api/courses/",
        "study view",
    }
    for result in smoke_report["http"].values():
        assert result["warmup_status"] == 200
        assert result["non_2xx_3xx"] == 0


@pytest.mark.timeout(200)
def test_smoke_counts_each_pages_queries_with_few_and_many_courses(smoke_report):
    pages = smoke_report["queries"]["pages"]

    assert set(pages) == set(smoke_report["http"])
    for name, sizes in pages.items():
        assert sizes["few"] == sizes["many"], name
    rows = [row for row in smoke_report["table"] if row["scenario"].startswith("SQL ")]
    assert len(rows) == len(pages) and all(row["pass"] for row in rows)


@pytest.mark.timeout(200)
@pytest.mark.parametrize("scenario", ["chat latency", "chat throughput"])
def test_smoke_chat_scenario_commits_every_message_sent_once(smoke_report, scenario):
    result = smoke_report["chat"][scenario]

    assert result["messages_sent"] == 9
    assert result["committed"] == 9


@pytest.mark.timeout(200)
def test_smoke_idle_scenario_holds_every_socket_and_measures_the_server(smoke_report):
    result = smoke_report["idle"]

    assert result["held_at_measurement"] == result["connections"] == 50
    assert result["connect_failures"] == 0
    assert result["rss_open_kib"] > 0
    assert result["kib_per_connection"] is not None


@pytest.mark.timeout(200)
def test_smoke_soak_chats_and_browses_without_an_error(smoke_report):
    result = smoke_report["soak"]

    assert result["errors"] == {}
    assert result["messages_sent"] > 0
    assert result["deliveries"] == result["expected_deliveries"] > 0
    assert result["pages"] > 0
    assert result["rss_after_warmup_kib"] > 0
    assert result["rss_after_soak_kib"] > 0


@pytest.mark.timeout(200)
def test_smoke_writes_a_latency_chart_beside_the_report(smoke_report):
    chart = Path(smoke_report["chart"])

    assert chart.name == "latest-latency.png"
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.timeout(200)
def test_smoke_quiz_scenario_stores_one_graded_attempt_per_student(smoke_report):
    result = smoke_report["quiz"]

    assert result["students"] == result["passed"] == result["attempt_rows"] == 5
    assert (result["lost"], result["duplicates"]) == (0, 0)
    assert result["errors"] == {}
    rows = [row for row in smoke_report["table"] if row["scenario"] == "quiz attempts x5"]
    assert {row["figure"] for row in rows if row["pass"]} == {
        "lost",
        "duplicates",
        "recorded_twice",
        "errors",
    }


@pytest.mark.timeout(200)
def test_smoke_quiz_scenario_second_submission_records_nothing(smoke_report):
    result = smoke_report["quiz"]

    assert result["requests"] == 4 * 5
    assert result["recorded_twice"] == 0


@pytest.mark.timeout(200)
def test_smoke_quiz_scenario_a_double_start_opens_one_attempt(smoke_report):
    assert smoke_report["quiz"]["starts_split"] == 0
