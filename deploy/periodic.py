"""Run management commands every few seconds in one long-lived process: the native stack's
stand-in for cron (one Django start-up, not one a minute).

    python -m deploy.periodic --every 60 send_mention_emails

A failing run is logged and the next one comes at its time; SIGTERM or SIGINT ends the wait.
"""

import argparse
import logging
import signal
import threading
import time
from collections.abc import Callable

logger = logging.getLogger("deploy.periodic")


def run_every(task: Callable[[], object], *, every: float, stop: threading.Event) -> int:
    """Call `task` now and then every `every` seconds (start to start) until `stop` is set;
    how many runs there were. An exception of one run does not end the loop."""
    runs = 0
    while not stop.is_set():
        started = time.monotonic()
        try:
            task()
        except Exception:
            logger.exception("A periodic run failed")
        runs += 1
        stop.wait(max(0.0, every - (time.monotonic() - started)))
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=float, default=60, help="seconds between runs (60)")
    parser.add_argument("command", nargs="+", help="a management command and its arguments")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    def task() -> None:
        try:
            call_command(*arguments.command)
        finally:
            # A connection kept for a minute of idleness may be gone by the next run.
            connections.close_all()

    run_every(task, every=arguments.every, stop=stop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
