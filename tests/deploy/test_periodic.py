"""deploy/periodic.py: the native stack's loop that runs send_mention_emails every minute."""

import os
import signal
import subprocess
import sys
import threading
import time

from deploy.periodic import run_every
from deploy.stack import PERIODIC_COMMAND, SERVICES
from tests.deploy.conftest import ROOT


def test_a_failing_run_does_not_end_the_loop():
    stop = threading.Event()
    calls = []

    def task():
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RuntimeError("the first run fails")
        if len(calls) == 3:
            stop.set()

    assert run_every(task, every=0.01, stop=stop) == 3


def test_runs_start_every_interval_whatever_they_take():
    stop = threading.Event()
    starts = []

    def task():
        starts.append(time.monotonic())
        time.sleep(0.05)
        if len(starts) == 3:
            stop.set()

    run_every(task, every=0.2, stop=stop)

    gaps = [later - earlier for earlier, later in zip(starts, starts[1:], strict=False)]
    assert all(0.18 <= gap < 0.3 for gap in gaps)


def test_the_native_stack_runs_the_mention_e_mails_periodically():
    assert "periodic" in SERVICES
    assert PERIODIC_COMMAND == ["send_mention_emails"]


def test_sigterm_ends_the_process_during_its_wait(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "educa.settings.test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "deploy.periodic", "--every", "3600", "check"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    # The first run is over (and the signal handlers are set) once its output is there.
    lines = iter(process.stdout.readline, b"")
    assert any(b"System check identified no issues" in line for line in lines)
    process.send_signal(signal.SIGTERM)

    process.communicate(timeout=10)
    assert process.returncode == 0
