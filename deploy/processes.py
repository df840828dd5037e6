"""Starting, watching and stopping the servers Educa runs beside Django, on one machine.

The one home of process handling: free ports, waiting for a port, spawning and stopping a
process, a PostgreSQL cluster (initdb, pg_ctl) and the command lines of redis-server,
redis-sentinel, memcached, Nginx, Daphne and Uvicorn. The native stack (deploy/stack.py), the
test suite's throwaway servers and the benchmark (bench/run.py) all use it; no product app
imports it. Standard library only: `make cert` runs the deploy package before the virtualenv
exists.
"""

import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
POSTGRES_LIB = Path("/usr/lib/postgresql")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


class ProcessError(RuntimeError):
    """A server did not start or stop in time; the message says which and where its log is."""


# ---------------------------------------------------------------- ports


# Ports below the kernel's ephemeral range are never the local end of an outgoing connection,
# which could take a port of that range between its choice and the server's bind.
PORTS_LOWEST = 10_000
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _ephemeral_lowest() -> int:
    try:
        return int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def free_ports(count: int, bind: str = LOOPBACK) -> list[int]:
    """`count` distinct ports nothing listens on, below the ephemeral range; each is held until
    all are found, so that one call never gives the same port twice."""
    candidates = random.sample(range(PORTS_LOWEST, _ephemeral_lowest()), k=count * 20)
    held: list[socket.socket] = []
    try:
        for port in candidates:
            sock = socket.socket()
            try:
                sock.bind((bind, port))
            except OSError:
                sock.close()
                continue
            held.append(sock)
            if len(held) == count:
                return [sock.getsockname()[1] for sock in held]
        raise ProcessError(f"{count} free ports not found on {bind}")
    finally:
        for sock in held:
            sock.close()


def free_port(bind: str = LOOPBACK) -> int:
    return free_ports(1, bind)[0]


def port_open(port: int, bind: str = LOOPBACK) -> bool:
    try:
        with socket.create_connection((bind, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(predicate, *, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise ProcessError(f"{what} not ready after {timeout:.0f} s" + (f"; see {log}" if log else ""))


def wait_for_port(
    port: int,
    bind: str = LOOPBACK,
    *,
    record: dict | None = None,
    timeout: float = START_TIMEOUT,
    what: str = "",
) -> None:
    """Until something listens on the port; fails at once, with its log, if `record`'s process
    exits meanwhile."""
    what = what or f"{bind}:{port}"
    log = Path(record["log"]) if record else None

    def listening() -> bool:
        if record and not is_running(record):
            raise ProcessError(f"{what} exited during start-up:\n{tail(log)}")
        return port_open(port, bind)

    wait_until(listening, timeout=timeout, what=what, log=log)


def wait_for_port_closed(port: int, bind: str = LOOPBACK, timeout: float = 20.0) -> None:
    wait_until(lambda: not port_open(port, bind), timeout=timeout, what=f"{bind}:{port} closing")


def tail(path: Path | None, lines: int = 20) -> str:
    if path is None:
        return ""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# ---------------------------------------------------------------- processes
#
# A started process is recorded as {"pid", "start_time", "log"} (JSON, so the native stack can
# stop it from another invocation): the kernel's start time tells it from a later process that
# reuses the pid, so only what was started here is ever signalled.


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of a live (non-zombie) process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return None if fields[0] == "Z" else fields[19]


def is_running(record: dict | None) -> bool:
    return bool(record) and process_start_time(record["pid"]) == record["start_time"]


def spawn(
    argv: list[str],
    *,
    log: Path,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    new_session: bool = False,
) -> tuple[subprocess.Popen, dict]:
    """Starts `argv` with its output appended to `log`; `new_session` detaches it from the
    terminal, so that it outlives the command that started it."""
    with open(log, "ab") as output:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )
    record = {"pid": process.pid, "start_time": process_start_time(process.pid), "log": str(log)}
    return process, record


def terminate(record: dict, *, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM, then SIGKILL after `timeout`; only if the pid is still the process recorded."""
    if not is_running(record):
        return
    os.kill(record["pid"], signal.SIGTERM)
    try:
        wait_until(lambda: not is_running(record), timeout=timeout, what=f"pid {record['pid']}")
    except ProcessError:
        kill(record)


def kill(record: dict) -> None:
    """SIGKILL at once, as a crash would end the process (no clean-up of any kind)."""
    if is_running(record):
        os.kill(record["pid"], signal.SIGKILL)
        wait_until(lambda: not is_running(record), timeout=5, what=f"pid {record['pid']} to exit")


def run(argv: list[str], *, what: str, env: dict[str, str] | None = None) -> None:
    """Runs a command to its end; a failure raises with the end of its output."""
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ProcessError(f"{what} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")


def running_as_root() -> bool:
    return os.geteuid() == 0


# ---------------------------------------------------------------- command lines


def redis_command(port: int, bind: str, directory: Path) -> list[str]:
    return [
        "redis-server", "--port", str(port), "--bind", bind, "--dir", str(directory),
        "--save", "", "--appendonly", "no", "--daemonize", "no",
    ]  # fmt: skip


def memcached_command(port: int, bind: str) -> list[str]:
    # -u is used only when started as root (memcached refuses to run as root).
    return ["memcached", "-l", bind, "-p", str(port), "-U", "0", "-m", "128", "-u", "nobody"]


def nginx_command(prefix: Path, conf: Path, error_log: Path) -> list[str]:
    return ["nginx", "-p", str(prefix), "-c", str(conf), "-e", str(error_log)]


def asgi_command(kind: str, port: int, bind: str = LOOPBACK) -> list[str]:
    """Daphne or Uvicorn serving educa.asgi:application as `make run` does; both refuse
    WebSocket frames over 64 KiB (close 1009)."""
    bin_dir = Path(sys.executable).parent
    if kind == "daphne":
        return [
            str(bin_dir / "daphne"), "-b", bind, "-p", str(port),
            "--websocket-max-message-size", "65536", "educa.asgi:application",
        ]  # fmt: skip
    if kind == "uvicorn":
        return [
            str(bin_dir / "uvicorn"), "educa.asgi:application", "--host", bind,
            "--port", str(port), "--ws-max-size", "65536", "--lifespan", "off",
            "--no-access-log",
        ]  # fmt: skip
    raise ValueError(f"kind is daphne or uvicorn, not {kind!r}")


# ---------------------------------------------------------------- PostgreSQL


def postgres_bin() -> Path:
    """The newest installed PostgreSQL's bin folder (/usr/lib/postgresql/<major>/bin)."""
    return max(POSTGRES_LIB.iterdir(), key=lambda path: int(path.name)) / "bin"


class PostgresCluster:
    """A PostgreSQL cluster in `directory` (data in directory/data), run by the unprivileged
    `postgres` account when we are root: initdb and postgres refuse to run as root.

    `settings` are extra `postgres` options, e.g. "-c max_connections=200".
    """

    account = "postgres"
    superuser = "educa"

    def __init__(
        self,
        directory: Path,
        *,
        port: int,
        bind: str = LOOPBACK,
        log: Path | None = None,
        settings: str = "",
    ):
        self.directory = directory
        self.data = directory / "data"
        self.port = port
        self.bind = bind
        self.log = log or directory / "postgres.log"
        self.settings = settings
        self.bin = postgres_bin()

    def _as_account(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", self.account, "--", *argv] if running_as_root() else argv

    def _give_to_account(self, path: Path) -> None:
        if running_as_root():
            account = pwd.getpwnam(self.account)
            os.chown(path, account.pw_uid, account.pw_gid)

    def exists(self) -> bool:
        return self.data.exists()

    def create(self, *, password: str | None = None) -> None:
        """initdb with the superuser `educa`: trusted on loopback without a password, else
        SCRAM over TCP and peer authentication on the socket."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._give_to_account(self.directory)
        self.directory.chmod(0o700)
        argv = [str(self.bin / "initdb"), "-D", str(self.data), "-U", self.superuser,
                "-E", "UTF8", "--no-sync"]  # fmt: skip
        if password is None:
            run(self._as_account([*argv, "-A", "trust"]), what="initdb")
            return
        password_file = self.directory / "password"
        password_file.write_text(password + "\n")
        self._give_to_account(password_file)
        try:
            run(
                self._as_account(
                    [*argv, f"--pwfile={password_file}", "--auth-host=scram-sha-256",
                     "--auth-local=peer"]
                ),
                what="initdb",
            )  # fmt: skip
        finally:
            password_file.unlink()

    def start(self) -> None:
        self.log.touch()
        self._give_to_account(self.log)
        options = f"-p {self.port} -c listen_addresses={self.bind} -k {self.directory}"
        run(
            self._as_account(
                [str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
                 "-t", str(int(START_TIMEOUT)), "-o", f"{options} {self.settings}", "start"]
            ),
            what="PostgreSQL start",
        )  # fmt: skip

    def stop(self) -> None:
        run(
            self._as_account(
                [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]
            ),
            what="PostgreSQL stop",
        )
        wait_for_port_closed(self.port, self.bind)

    def running(self) -> bool:
        if not self.exists():
            return False
        status = [str(self.bin / "pg_ctl"), "-D", str(self.data), "status"]
        return subprocess.run(self._as_account(status), capture_output=True).returncode == 0

    def create_database(self, name: str, *, password: str) -> None:
        run(
            [str(self.bin / "createdb"), "-h", self.bind, "-p", str(self.port),
             "-U", self.superuser, name],
            env={**os.environ, "PGPASSWORD": password},
            what="createdb",
        )  # fmt: skip


# ---------------------------------------------------------------- throwaway servers
#
# For the test suite and the benchmark: each on a free loopback port in a temp folder of its
# own, stopped and started again at will, so a test can check what survives an outage.


class ProcessServer:
    """A server process started from `command()`; `stop()` and `start()` may repeat."""

    def __init__(self, name: str, env: dict[str, str] | None = None):
        self.name = name
        self.env = env or {}
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix=f"educa-{name}-"))
        self.process: subprocess.Popen | None = None
        self.record: dict | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        self.process, self.record = spawn(
            self.command(),
            log=self.directory / "server.log",
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
        )
        wait_for_port(self.port, record=self.record, what=self.name)

    def stop(self) -> None:
        self._end(terminate)

    def kill(self) -> None:
        """End the process at once, as a crash would (no clean-up of any kind)."""
        self._end(kill)

    def _end(self, how) -> None:
        if self.process is not None:
            how(self.record)
            self.process.wait()
        self.process = self.record = None
        wait_for_port_closed(self.port)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def log(self) -> str:
        return tail(self.directory / "server.log", lines=10_000)


class RedisServer(ProcessServer):
    """A redis-server; with `replica_of`, a replica of that server."""

    def __init__(self, *, replica_of: "RedisServer | None" = None):
        super().__init__("redis")
        self.replica_of = replica_of

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def command(self) -> list[str]:
        command = redis_command(self.port, LOOPBACK, self.directory)
        if self.replica_of is not None:
            command += ["--replicaof", LOOPBACK, str(self.replica_of.port)]
        return command


class SentinelServer(ProcessServer):
    """A redis-sentinel watching `master` under `master_name`.

    A master is deemed down after `down_after_ms` without an answer (Sentinel's default is 30 s;
    tests use a fraction of a second), and `quorum` Sentinels must agree before a failover.
    Sentinel rewrites its configuration file as it learns (replicas, other Sentinels, a new
    master), so the file is written once and a restart keeps what it learned.
    """

    def __init__(
        self,
        master: RedisServer,
        *,
        master_name: str = "educa",
        quorum: int = 2,
        down_after_ms: int = 500,
    ):
        super().__init__("sentinel")
        self.master_name = master_name
        self.config = self.directory / "sentinel.conf"
        self.config.write_text(
            "\n".join(
                [
                    f"port {self.port}",
                    f"bind {LOOPBACK}",
                    f"dir {self.directory}",
                    f"sentinel monitor {master_name} {LOOPBACK} {master.port} {quorum}",
                    f"sentinel down-after-milliseconds {master_name} {down_after_ms}",
                    f"sentinel failover-timeout {master_name} {max(10 * down_after_ms, 3000)}",
                    f"sentinel parallel-syncs {master_name} 1",
                    "",
                ]
            )
        )

    @property
    def address(self) -> str:
        """host:port, as REDIS_SENTINELS lists it."""
        return f"{LOOPBACK}:{self.port}"

    def command(self) -> list[str]:
        return ["redis-sentinel", str(self.config)]


class MemcachedServer(ProcessServer):
    def __init__(self):
        super().__init__("memcached")

    @property
    def location(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def command(self) -> list[str]:
        return memcached_command(self.port, LOOPBACK)


class PostgresServer(ProcessServer):
    """A throwaway cluster, tuned for speed over durability (no fsync, no full-page writes)."""

    def __init__(self):
        super().__init__("postgres")
        self.cluster = PostgresCluster(
            self.directory,
            port=self.port,
            settings="-F -c max_connections=300 -c synchronous_commit=off -c full_page_writes=off",
        )
        self.cluster.create()

    @property
    def url(self) -> str:
        return f"postgres://{PostgresCluster.superuser}@{LOOPBACK}:{self.port}/postgres"

    def start(self) -> None:
        self.cluster.start()

    def stop(self) -> None:
        if self.cluster.running():
            self.cluster.stop()


class AsgiServer(ProcessServer):
    """Daphne or Uvicorn serving educa.asgi:application as `make run` and production do, with
    `env` added to this process's environment (DJANGO_SETTINGS_MODULE, DATABASE_URL, ...)."""

    KINDS = ("daphne", "uvicorn")

    def __init__(self, kind: str, env: dict[str, str]):
        if kind not in self.KINDS:
            raise ValueError(f"kind is one of {self.KINDS}")
        super().__init__(kind, env)
        self.kind = kind

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{LOOPBACK}:{self.port}"

    def command(self) -> list[str]:
        return asgi_command(self.kind, self.port)
