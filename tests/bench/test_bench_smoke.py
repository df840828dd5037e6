"""`bench/run.py --smoke` keeps working; it checks correctness, never speed."""

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
        [sys.executable, "bench/run.py", "--smoke", f"--out={out}"],
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
def test_smoke_http_scenarios_get_only_successful_answers(smoke_report):
    assert set(smoke_report["http"]) == {"catalogue /", "course page", "API /api/courses/"}
    for result in smoke_report["http"].values():
        assert result["warmup_status"] == 200
        assert result["non_2xx_3xx"] == 0
