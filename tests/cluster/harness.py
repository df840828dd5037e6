"""A simulated cluster: PostgreSQL, Redis, three application hosts and Nginx, each in its own
network namespace on 10.203.0.0/24 (deploy/netns.py).

    db      10.203.0.2   PostgreSQL (and its Unix socket in the work folder, for the tests)
    redis   10.203.0.3   a Redis master (:6379), its replica (:6380) and three Sentinels
                         (:26379 to :26381), each server with a Unix socket
    lb      10.203.0.10  Nginx, the production template, balancing over every host
    host-N  10.203.0.1N  uWSGI (deploy/uwsgi.ini) and Daphne (deploy/daphne.sh)

The hosts run the production settings (plus the benchmark's commands) configured by the
environment only, and find the Redis master through the Sentinels (REDIS_SENTINELS). The tests
reach Nginx from a thread inside the lb namespace and read the database and Redis through their
Unix sockets, so nothing on this machine's own network changes.
"""

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import redis

from deploy.certificate import make_certificate
from deploy.healthcheck import request_http, request_uwsgi, status_of
from deploy.netns import Namespace, Network, delete_abandoned_networks, kill_namespace_processes
from deploy.processes import (
    ROOT,
    START_TIMEOUT,
    STOP_TIMEOUT,
    PostgresCluster,
    ProcessError,
    is_running,
    kill,
    nginx_command,
    redis_command,
    run,
    spawn,
    tail,
    wait_until,
)
from deploy.stack import VENV_BIN

NAMESPACE_PREFIX = "educa-cl"
SUBNET = "10.203.0"
HOST_COUNT = 3
POSTGRES_PORT, UWSGI_PORT, DAPHNE_PORT = 5432, 8000, 8001
# The Redis master's and its replica's ports, and the Sentinels' (quorum 2).
REDIS_PORTS = (6379, 6380)
SENTINEL_PORTS = (26379, 26380, 26381)
SENTINEL_MASTER = "educa"
# A master silent this long is down; a loaded machine delays answers by a fraction of that.
SENTINEL_DOWN_AFTER_MS = 1000
# Rooms and students per room that bench_setup creates for the scenarios.
ROOMS, STUDENTS = 4, 25
CHAT_LIMITS = {
    "CHAT_RATE_LIMIT": "1000000/10s",
    "CHAT_FRAME_BUDGET": "1000000/10s",
    "API_THROTTLE_ANON": "100000000/m",
    "API_THROTTLE_USER": "100000000/m",
}
# Loading Django took uWSGI workers up to 32 s on a busy 2-core machine.
HOST_START_TIMEOUT = 2 * START_TIMEOUT
# Presence of a dead process expires within seconds rather than the production 55 s.
PRESENCE = {"CHAT_HEARTBEAT": "1", "CHAT_PRESENCE_TTL": "3"}


class NamespacedPostgres(PostgresCluster):
    """The cluster's PostgreSQL, every command of it run inside the db namespace."""

    def __init__(self, namespace: Namespace, directory: Path):
        super().__init__(
            directory,
            port=POSTGRES_PORT,
            bind=namespace.address,
            settings="-F -c max_connections=300 -c synchronous_commit=off -c full_page_writes=off",
        )
        self.namespace = namespace

    def _as_account(self, argv: list[str]) -> list[str]:
        return self.namespace.command(super()._as_account(argv))

    def stop(self) -> None:
        # pg_ctl -w waits for the server to exit; the parent's port check would run in this
        # process's namespace, where the db address is not the cluster's.
        run(
            self._as_account(
                [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]
            ),
            what="PostgreSQL stop",
        )

    def allow_subnet(self) -> None:
        with open(self.data / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {SUBNET}.0/24 trust\n")


class Host:
    """One application host: uWSGI and Daphne in its namespace."""

    def __init__(self, number: int, namespace: Namespace, env: dict[str, str], logs: Path):
        self.number = number
        self.namespace = namespace
        self.env = env
        self.logs = logs
        self.processes: dict[str, tuple[subprocess.Popen, dict]] = {}

    def start(self) -> None:
        self.spawn_servers()
        self.wait_healthy()

    def spawn_servers(self) -> None:
        address = self.namespace.address
        uwsgi = [str(VENV_BIN / "uwsgi"), "--ini", str(ROOT / "deploy" / "uwsgi.ini"),
                 "--virtualenv", str(VENV_BIN.parent)]  # fmt: skip
        commands = {
            "uwsgi": (uwsgi, {"WEB_BIND": f"{address}:{UWSGI_PORT}"}),
            "daphne": (
                [str(ROOT / "deploy" / "daphne.sh")],
                {"DAPHNE_BIND": address, "DAPHNE_PORT": str(DAPHNE_PORT)},
            ),
        }
        for name, (argv, extra) in commands.items():
            self.processes[name] = spawn(
                self.namespace.command(argv),
                log=self.logs / f"host-{self.number}-{name}.log",
                env={**self.env, **extra},
            )

    def wait_healthy(self) -> None:
        address = self.namespace.address
        for name, request, port in (
            ("uwsgi", request_uwsgi, UWSGI_PORT),
            ("daphne", request_http, DAPHNE_PORT),
        ):
            _, record = self.processes[name]

            def healthy(request=request, port=port, record=record, name=name) -> bool:
                if not is_running(record):
                    log = tail(Path(record["log"]))
                    raise ProcessError(f"host {self.number} {name} exited:\n{log}")
                try:
                    answer = self.namespace.call(request, (address, port), "/healthz")
                except OSError:
                    return False
                return status_of(answer) == 200

            wait_until(healthy, timeout=HOST_START_TIMEOUT, what=f"host {self.number} {name}")

    def stop(self) -> None:
        """SIGTERM to Daphne and uWSGI, as an orchestrator drains a host, then reap them."""
        for _, record in self.processes.values():
            if is_running(record):
                os.kill(record["pid"], signal.SIGTERM)
        for process, record in self.processes.values():
            try:
                wait_until(lambda r=record: not is_running(r), timeout=STOP_TIMEOUT, what="stop")
            except ProcessError:
                kill(record)
            process.wait()
        self.processes.clear()
        kill_namespace_processes(self.namespace.name)

    def kill(self) -> None:
        """SIGKILL to every process of the host at once, as a crashed machine ends them."""
        kill_namespace_processes(self.namespace.name)
        for process, record in self.processes.values():
            kill(record)
            process.wait()
        self.processes.clear()

    @property
    def running(self) -> bool:
        return bool(self.processes) and all(is_running(r) for _, r in self.processes.values())


class Cluster:
    def __init__(self):
        delete_abandoned_networks(NAMESPACE_PREFIX)
        self.work = Path(tempfile.mkdtemp(prefix="educa-cluster-"))
        # Nginx's workers and PostgreSQL run as other users and must reach their folders.
        self.work.chmod(0o755)
        self.logs = self.work / "logs"
        self.network: Network | None = None
        self.postgres: NamespacedPostgres | None = None
        self.redis_processes: dict[int, tuple[subprocess.Popen, dict]] = {}
        self.nginx_process: tuple[subprocess.Popen, dict] | None = None
        self.hosts: list[Host] = []
        self.rooms: list[dict] = []

    # -- addresses and clients

    @property
    def lb(self) -> Namespace:
        return self.network.nodes["lb"]

    @property
    def ws_url(self) -> str:
        return f"wss://{self.lb.address}"

    @property
    def https_url(self) -> str:
        return f"https://{self.lb.address}"

    @property
    def redis_address(self) -> str:
        return self.network.nodes["redis"].address

    def redis_socket(self, port: int) -> Path:
        return self.work / f"redis-{port}" / "redis.sock"

    def redis_master_port(self) -> int:
        """The port of the Redis server that is the master now."""
        for port in REDIS_PORTS:
            client = redis.Redis(unix_socket_path=str(self.redis_socket(port)))
            with contextlib.suppress(redis.ConnectionError):
                if client.info("replication")["role"] == "master":
                    return port
        raise redis.ConnectionError("no Redis master is running")

    def redis_client(self) -> redis.Redis:
        """A client of the current master, through its Unix socket."""
        return redis.Redis(unix_socket_path=str(self.redis_socket(self.redis_master_port())))

    def database(self) -> psycopg.Connection:
        return psycopg.connect(
            host=str(self.postgres.directory), port=POSTGRES_PORT, user="educa",
            dbname="postgres", autocommit=True,
        )  # fmt: skip

    # -- start and stop

    def start(self) -> None:
        self.logs.mkdir()
        self.network = Network(f"{NAMESPACE_PREFIX}{os.getpid()}", SUBNET)
        db = self.network.add_node("db", 2)
        redis_node = self.network.add_node("redis", 3)
        self.network.add_node("lb", 10)
        host_nodes = [self.network.add_node(f"host-{n}", 10 + n) for n in range(1, HOST_COUNT + 1)]

        self.postgres = NamespacedPostgres(db, self.work / "postgres")
        self.postgres.create()
        self.postgres.allow_subnet()
        self.postgres.start()
        self.start_redis(redis_node)

        env = self.app_env()
        self.prepare_django(host_nodes[0], env)
        self.hosts = [
            Host(number, namespace, env, self.logs)
            for number, namespace in enumerate(host_nodes, start=1)
        ]
        for host in self.hosts:
            host.spawn_servers()
        with ThreadPoolExecutor(len(self.hosts)) as pool:
            list(pool.map(Host.wait_healthy, self.hosts))
        self.start_nginx()

    def start_redis(self, node: Namespace) -> None:
        """The master, its replica and three Sentinels, ready for a failover."""
        master_port, replica_port = REDIS_PORTS
        for port in REDIS_PORTS:
            folder = self.redis_socket(port).parent
            folder.mkdir()
            argv = [*redis_command(port, node.address, folder),
                    "--unixsocket", str(self.redis_socket(port)), "--unixsocketperm", "700",
                    "--protected-mode", "no"]  # fmt: skip
            if port == replica_port:
                argv += ["--replicaof", node.address, str(master_port)]
            self.redis_processes[port] = spawn(
                node.command(argv), log=self.logs / f"redis-{port}.log", env=self.base_env()
            )
            wait_until(self.redis_socket(port).exists, timeout=START_TIMEOUT, what="redis")
        for port in SENTINEL_PORTS:
            folder = self.work / f"sentinel-{port}"
            folder.mkdir()
            # Sentinel rewrites its configuration file as it learns the replica and the others.
            config = folder / "sentinel.conf"
            config.write_text(
                f"port {port}\nbind {node.address}\ndir {folder}\nprotected-mode no\n"
                f"sentinel monitor {SENTINEL_MASTER} {node.address} {master_port} 2\n"
                f"sentinel down-after-milliseconds {SENTINEL_MASTER} {SENTINEL_DOWN_AFTER_MS}\n"
                f"sentinel failover-timeout {SENTINEL_MASTER} 10000\n"
            )
            self.redis_processes[port] = spawn(
                node.command(["redis-sentinel", str(config)]),
                log=self.logs / f"sentinel-{port}.log",
                env=self.base_env(),
            )
        wait_until(
            lambda: node.call(self._sentinels_ready), timeout=START_TIMEOUT, what="sentinels"
        )

    def _sentinel(self, port: int) -> redis.Redis:
        """A client of one Sentinel; only from inside the redis namespace."""
        return redis.Redis(self.redis_address, port, socket_timeout=1, decode_responses=True)

    def _sentinels_ready(self) -> bool:
        """Every Sentinel knows the replica (in sync) and the two other Sentinels."""
        try:
            for port in SENTINEL_PORTS:
                sentinel = self._sentinel(port)
                replicas = sentinel.sentinel_slaves(SENTINEL_MASTER)
                if len(sentinel.sentinel_sentinels(SENTINEL_MASTER)) < len(SENTINEL_PORTS) - 1:
                    return False
                if not any(r["master-link-status"] == "ok" for r in replicas):
                    return False
        except redis.ConnectionError:
            return False
        return True

    def _replica_promoted(self) -> bool:
        """Every Sentinel names the replica as the master, in good health."""
        replica_port = REDIS_PORTS[1]
        for port in SENTINEL_PORTS:
            state = self._sentinel(port).sentinel_master(SENTINEL_MASTER)
            if state["port"] != replica_port or state["is_sdown"] or state["is_odown"]:
                return False
        return True

    def kill_redis_master_and_wait_for_failover(self) -> None:
        """SIGKILL to the master; returns once the Sentinels have promoted the replica."""
        kill(self.redis_processes[REDIS_PORTS[0]][1])
        wait_until(
            lambda: self.network.nodes["redis"].call(self._replica_promoted),
            timeout=60,
            what="the Sentinels to promote the replica",
        )

    def base_env(self) -> dict[str, str]:
        return {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}

    def app_env(self) -> dict[str, str]:
        db = self.network.nodes["db"].address
        for folder in ("static", "media"):
            (self.work / folder).mkdir()
            (self.work / folder).chmod(0o755)
        return {
            **self.base_env(),
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "educa.settings.bench",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            # localhost: deploy/healthcheck.py's Host when this process's environment names none.
            "DJANGO_ALLOWED_HOSTS": f"{self.lb.address},localhost",
            "DJANGO_CSRF_TRUSTED_ORIGINS": self.https_url,
            "DATABASE_URL": f"postgres://educa@{db}:{POSTGRES_PORT}/postgres",
            "REDIS_SENTINELS": ",".join(f"{self.redis_address}:{port}" for port in SENTINEL_PORTS),
            "REDIS_SENTINEL_MASTER": SENTINEL_MASTER,
            "MEMCACHED_LOCATION": "",
            "DJANGO_STATIC_ROOT": str(self.work / "static"),
            "DJANGO_MEDIA_ROOT": str(self.work / "media"),
            "EMAIL_URL": "consolemail://",
            "DJANGO_LOG_LEVEL": "WARNING",
            "WEB_PROCESSES": "1",
            **CHAT_LIMITS,
            **PRESENCE,
        }

    def prepare_django(self, namespace: Namespace, env: dict[str, str]) -> None:
        """Migrations, static files and the scenarios' rooms, students and tokens."""
        manage = [sys.executable, "manage.py"]
        run(namespace.command([*manage, "migrate", "--no-input"]), env=env, what="migrate")
        run([*manage, "collectstatic", "--no-input"], env=env, what="collectstatic")
        data = self.work / "rooms.json"
        run(
            namespace.command(
                [*manage, "bench_setup", f"--rooms={ROOMS}", f"--students={STUDENTS}",
                 "--modules=2", "--contents=2", f"--out={data}"]
            ),
            env=env,
            what="bench_setup",
        )  # fmt: skip
        self.rooms = json.loads(data.read_text())["rooms"]

    def start_nginx(self) -> None:
        folder = self.work / "nginx"
        (folder / "temp").mkdir(parents=True)
        make_certificate(folder)
        hosts = [host.namespace.address for host in self.hosts]

        def servers(port: int) -> str:
            # max_fails=0: Nginx forgives a failed server only when a request to it ends, which
            # for a WebSocket may be hours, so with the default (1 in 10 s) a restarted Daphne
            # got one new socket per 10 s. A refused connection still goes to the next one.
            return " ".join(f"server {address}:{port} max_fails=0;" for address in hosts)

        env = {
            **self.base_env(),
            "NGINX_PID_FILE": str(folder / "nginx.pid"),
            "NGINX_ERROR_LOG": str(self.logs / "nginx-error.log"),
            "NGINX_ACCESS_LOG": str(self.logs / "nginx-access.log"),
            "NGINX_TEMP_DIR": str(folder / "temp"),
            "NGINX_CONF_DIR": str(ROOT / "nginx"),
            "NGINX_HTTP_LISTEN": f"{self.lb.address}:80",
            "NGINX_HTTPS_LISTEN": f"{self.lb.address}:443",
            "NGINX_HTTPS_PORT_SUFFIX": "",
            "NGINX_SERVER_NAME": "_",
            "NGINX_SSL_CERTIFICATE": str(folder / "educa.crt"),
            "NGINX_SSL_CERTIFICATE_KEY": str(folder / "educa.key"),
            "NGINX_UWSGI_SERVERS": servers(UWSGI_PORT),
            "NGINX_DAPHNE_SERVERS": servers(DAPHNE_PORT),
            "NGINX_STATIC_ROOT": str(self.work / "static"),
            "NGINX_MEDIA_ROOT": str(self.work / "media"),
            "NGINX_WORKER_PROCESSES": "1",
            "DJANGO_ALLOWED_HOSTS": self.lb.address,
        }
        conf = folder / "nginx.conf"
        run(
            ["sh", str(ROOT / "nginx" / "render.sh"), str(ROOT / "nginx" / "educa.conf.template"),
             str(conf)],
            env=env,
            what="rendering the Nginx template",
        )  # fmt: skip
        argv = nginx_command(folder, conf, self.logs / "nginx-error.log")
        self.nginx_process = spawn(
            self.lb.command([*argv, "-g", "daemon off;"]), log=self.logs / "nginx.log", env=env
        )
        wait_until(
            lambda: self.page_status("/healthz") == 200,
            timeout=START_TIMEOUT,
            what="nginx",
            log=self.logs,
        )

    def tls(self) -> ssl.SSLContext:
        """Trusts the balancer's self-signed certificate (made for localhost, hence no name
        check at its cluster address)."""
        context = ssl.create_default_context(cafile=str(self.work / "nginx" / "educa.crt"))
        context.check_hostname = False
        return context

    def page_status(self, path: str) -> int:
        """The status of GET `path` through Nginx, or 0 when no answer came."""

        def get() -> int:
            try:
                return httpx.get(
                    f"{self.https_url}{path}", verify=self.tls(), timeout=10
                ).status_code
            except httpx.HTTPError:
                return 0

        return self.lb.call(get)

    # -- what the scenarios check

    def room_seqs(self) -> dict[int, int]:
        """Each chat room's newest seq (a room's id is its course's)."""
        with self.database() as db:
            return dict(db.execute("SELECT course_id, last_seq FROM chat_room").fetchall())

    def committed(self, tag: str) -> tuple[int, int]:
        """Messages stored with a client_id of run `tag`, and how many distinct client_ids."""
        with self.database() as db:
            query = (
                "SELECT count(*), count(DISTINCT client_id) FROM chat_message"
                " WHERE client_id LIKE %s"
            )
            return db.execute(query, [f"{tag}-%"]).fetchone()

    def presence_entries(self) -> dict[str, set[str]]:
        """Usernames in every room's presence set, by the server process that entered them."""
        entries: dict[str, set[str]] = {}
        client = self.redis_client()
        for key in client.scan_iter("chat:presence:*"):
            for member in client.zrange(key, 0, -1):
                username, _, process_id = member.decode().rpartition("|")
                entries.setdefault(process_id, set()).add(username)
        return entries

    def access_log_size(self) -> int:
        return (self.logs / "nginx-access.log").stat().st_size

    def socket_upstreams(self, since: int) -> Counter:
        """WebSockets Nginx handed to each host (logged when they closed) since log offset
        `since`."""
        with open(self.logs / "nginx-access.log", "rb") as log:
            log.seek(since)
            lines = log.read().decode(errors="replace").splitlines()
        return Counter(
            re.search(r"upstream=(\S+)", line).group(1)
            for line in lines
            if '"GET /ws/' in line and '" 101 ' in line
        )

    def restore_hosts(self) -> None:
        """Every host running again (after a scenario stopped or killed some)."""
        for host in self.hosts:
            if not host.running:
                host.stop()
                host.start()

    def close(self) -> None:
        try:
            for host in self.hosts:
                host.kill()
            for process in (self.nginx_process, *self.redis_processes.values()):
                if process is not None:
                    kill(process[1])
                    process[0].wait()
            if self.postgres is not None and self.postgres.running():
                self.postgres.stop()
        finally:
            if self.network is not None:
                self.network.close()
            shutil.rmtree(self.work, ignore_errors=True)
