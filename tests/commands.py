"""Running the project's management commands in a process of their own, for tests whose
settings or database differ from the suite's."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def manage(env: dict[str, str], *arguments: str, timeout: float = 300) -> str:
    """`manage.py ARGUMENTS` under `env`; its output, once it has succeeded."""
    result = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    return result.stdout
