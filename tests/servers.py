"""Throwaway PostgreSQL, Redis and Memcached servers for the test suite.

Each runs on a free loopback port in its own temp folder and can be stopped and started again,
so a test can check what survives an outage.
"""

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

POSTGRES_BIN = Path("/usr/lib/postgresql")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def wait_for_port_closed(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                time.sleep(0.05)
        except OSError:
            return
    raise RuntimeError(f"127.0.0.1:{port} still open after {timeout} s")


class ProcessServer:
    """A server process started from an argument list; `stop()` and `start()` may repeat."""

    def __init__(self, name: str):
        self.name = name
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix=f"educa-{name}-"))
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        log = open(self.directory / "server.log", "ab")  # noqa: SIM115 - lives with the process
        self.process = subprocess.Popen(self.command(), stdout=log, stderr=log)
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        wait_for_port_closed(self.port)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


class RedisServer(ProcessServer):
    def __init__(self):
        super().__init__("redis")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self):
        return [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.directory), "--save", "", "--appendonly", "no",
        ]  # fmt: skip


class MemcachedServer(ProcessServer):
    def __init__(self):
        super().__init__("memcached")

    @property
    def location(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self):
        return ["memcached", "-l", "127.0.0.1", "-p", str(self.port), "-U", "0", "-u", "nobody"]


class PostgresServer(ProcessServer):
    """A PostgreSQL cluster owned by the unprivileged `postgres` user (it refuses root)."""

    user = "postgres"

    def __init__(self):
        super().__init__("postgres")
        self.bin = max(POSTGRES_BIN.iterdir()) / "bin"
        self.data = self.directory / "data"
        self._as_user(
            [str(self.bin / "initdb"), "-D", str(self.data), "-U", "educa", "-A", "trust",
             "--no-sync", "-E", "UTF8"],
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"postgres://educa@127.0.0.1:{self.port}/postgres"

    def _as_user(self, command: list[str]) -> None:
        if os.geteuid() == 0:
            account = pwd.getpwnam(self.user)
            os.chown(self.directory, account.pw_uid, account.pw_gid)
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True)

    def start(self) -> None:
        self._as_user(
            [str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.directory / "log"),
             "-w", "-o",
             f"-p {self.port} -h 127.0.0.1 -k {self.directory} -F -c max_connections=300"
             " -c synchronous_commit=off -c full_page_writes=off",
             "start"],
        )  # fmt: skip
        wait_for_port(self.port)

    def stop(self) -> None:
        self._as_user([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])
        wait_for_port_closed(self.port)


class AsgiServer(ProcessServer):
    """Daphne or Uvicorn serving educa.asgi:application as `make run` and production do.

    `env` is added to this process's environment (DJANGO_SETTINGS_MODULE, DATABASE_URL,
    REDIS_URL, CHAT_* ...). Both servers refuse WebSocket frames over 64 KiB (close 1009).
    """

    KINDS = ("daphne", "uvicorn")

    def __init__(self, kind: str, env: dict[str, str]):
        if kind not in self.KINDS:
            raise ValueError(f"kind is one of {self.KINDS}")
        super().__init__(kind)
        self.kind = kind
        self.env = env

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def command(self):
        bin_dir = Path(sys.executable).parent
        if self.kind == "daphne":
            return [
                str(bin_dir / "daphne"), "-b", "127.0.0.1", "-p", str(self.port),
                "--websocket-max-message-size", "65536", "educa.asgi:application",
            ]  # fmt: skip
        return [
            str(bin_dir / "uvicorn"), "educa.asgi:application", "--host", "127.0.0.1",
            "--port", str(self.port), "--ws-max-size", "65536", "--lifespan", "off",
            "--no-access-log",
        ]  # fmt: skip

    def start(self) -> None:
        log = open(self.directory / "server.log", "ab")  # noqa: SIM115 - lives with the process
        self.process = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=log,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
            cwd=Path(__file__).resolve().parent.parent,
        )
        try:
            wait_for_port(self.port)
        except RuntimeError:
            raise RuntimeError(f"{self.kind} did not start:\n{self.log()}") from None

    def kill(self) -> None:
        """End the process at once, as a crash would (no clean-up of any kind)."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None
        wait_for_port_closed(self.port)

    def log(self) -> str:
        path = self.directory / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""
