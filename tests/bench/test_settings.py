"""The benchmark's commands exist under the test and benchmark settings, never in production."""

import json
import os
import subprocess
import sys
from pathlib import Path

from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]
BENCH_COMMANDS = {"bench_setup", "bench_queries"}
# What production refuses to start without; nothing connects to these addresses.
REQUIRED_ENV = {
    "DJANGO_SECRET_KEY": "kq3R9v_x2T8mZ4pLw7Yb1Nc6Hf0Dj5Gs-Ae8Uo3Ii9Pr2Tt7Vz4Xc1Bn6Mm0Qk5Lh",
    "DJANGO_ALLOWED_HOSTS": "educa.example.com",
    "DATABASE_URL": "postgres://educa:secret@db.example.com:5432/educa",
}
# Production logs to stdout too (JSON lines): the answer is the line after the marker.
LIST_COMMANDS = (
    "import json, django; django.setup(); from django.core.management import get_commands; "
    "print('COMMANDS:' + json.dumps(sorted(get_commands())))"
)


def commands_under(settings_module: str) -> set[str]:
    """The management commands a fresh process finds under `settings_module`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(REQUIRED_ENV, DJANGO_SETTINGS_MODULE=settings_module)
    result = subprocess.run(
        [sys.executable, "-c", LIST_COMMANDS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    line = next(line for line in result.stdout.splitlines() if line.startswith("COMMANDS:"))
    return set(json.loads(line.removeprefix("COMMANDS:")))


def test_the_production_settings_have_no_benchmark_commands():
    commands = commands_under("educa.settings.prod")

    assert "enroll_reminder" in commands
    assert not BENCH_COMMANDS & commands


def test_the_benchmark_settings_add_the_benchmark_commands_to_production():
    assert commands_under("educa.settings.bench") == commands_under("educa.settings.prod") | (
        BENCH_COMMANDS
    )


def test_the_test_settings_install_the_benchmark_commands():
    assert set(get_commands()) >= BENCH_COMMANDS
