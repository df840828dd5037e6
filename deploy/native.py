#!/usr/bin/env python3
"""The native production stack: Educa's production configuration on one machine, no Docker.

PostgreSQL (a throwaway cluster in the state folder unless DATABASE_URL is set), Redis, Memcached,
uWSGI (deploy/uwsgi.ini), two Daphne processes (deploy/daphne.sh) and Nginx with the rendered
nginx/educa.conf.template and a self-signed certificate, all on loopback; migrations and
collectstatic run before the servers start. Everything it starts is recorded in
<state>/stack.json, so `stop` stops exactly that and nothing else.

    python deploy/native.py start            # make prod
    python deploy/native.py stop             # make prod-stop
    python deploy/native.py status
    python deploy/native.py service-stop redis    # and service-start: one part only
    python deploy/native.py manage createsuperuser  # manage.py with the stack's environment
    python deploy/native.py backup [--out DIR]      # make backup
    python deploy/native.py restore DIR             # make restore DIR=...
    python deploy/native.py cert [--out DIR]        # make cert

Environment: PROD_STATE_DIR (.prod), PROD_BIND (127.0.0.1), PROD_HTTP_PORT (8080),
PROD_HTTPS_PORT (8443), PROD_CERT_DIR (certs), PROD_DAPHNE_COUNT (2), DATABASE_URL,
UPLOAD_MAX_BYTES, WEB_PROCESSES, WEB_THREADS, NGINX_WORKER_PROCESSES, EMAIL_URL, PARENT_HOST.
Standard library only: `cert` works before the virtualenv exists.
"""

import argparse
import datetime
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tarfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
POSTGRES_LIB = Path("/usr/lib/postgresql")
MEDIA_ACCEL_REDIRECT_PREFIX = "/protected-media/"
STOP_TIMEOUT = 15.0
START_TIMEOUT = 60.0
# Start order; stop runs it backwards.
SERVICES = ("postgres", "redis", "memcached", "uwsgi", "daphne", "nginx")


class StackError(RuntimeError):
    """A step failed; the message says which and where its log is."""


# ---------------------------------------------------------------- small process helpers


def free_port(bind: str) -> int:
    with socket.socket() as sock:
        sock.bind((bind, 0))
        return sock.getsockname()[1]


def port_open(bind: str, port: int) -> bool:
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
        time.sleep(0.1)
    raise StackError(f"{what} not ready after {timeout:.0f} s" + (f"; see {log}" if log else ""))


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of a live (non-zombie) process, to tell it from a reused pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return None if fields[0] == "Z" else fields[19]


def is_running(record: dict | None) -> bool:
    return bool(record) and process_start_time(record["pid"]) == record["start_time"]


def running_as_root() -> bool:
    return os.geteuid() == 0


def postgres_bin() -> Path:
    return max(POSTGRES_LIB.iterdir(), key=lambda path: int(path.name)) / "bin"


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# ---------------------------------------------------------------- the stack


class Stack:
    def __init__(self, state_dir: Path):
        self.dir = state_dir.resolve()
        self.logs = self.dir / "logs"
        self.state_file = self.dir / "stack.json"
        self.state = json.loads(self.state_file.read_text()) if self.state_file.exists() else {}

    # -- state

    def save(self) -> None:
        self.state_file.write_text(json.dumps(self.state, indent=2, sort_keys=True))

    @property
    def processes(self) -> dict:
        return self.state.setdefault("processes", {})

    def running_services(self) -> list[str]:
        names = [name for name, record in self.processes.items() if is_running(record)]
        if self.postgres_running():
            names.append("postgres")
        return sorted(names)

    # -- configuration: fresh ports at each start; the secret key and database password stay

    def configure(self) -> None:
        bind = os.environ.get("PROD_BIND", "127.0.0.1")
        https_port = int(os.environ.get("PROD_HTTPS_PORT", "8443"))
        http_port = int(os.environ.get("PROD_HTTP_PORT", "8080"))
        daphne_count = int(os.environ.get("PROD_DAPHNE_COUNT", "2"))
        cert_dir = Path(os.environ.get("PROD_CERT_DIR", ROOT / "certs")).resolve()
        ports = {
            "http": http_port,
            "https": https_port,
            "redis": free_port(bind),
            "memcached": free_port(bind),
            "uwsgi": free_port(bind),
            "daphne": [free_port(bind) for _ in range(daphne_count)],
        }
        database_url = os.environ.get("DATABASE_URL", "")
        if not database_url:
            ports["postgres"] = free_port(bind)
            password = self.state.get("postgres_password") or secrets.token_urlsafe(24)
            self.state["postgres_password"] = password
            database_url = f"postgres://educa:{password}@{bind}:{ports['postgres']}/educa"
        self.state.update(
            {
                "bind": bind,
                "ports": ports,
                "cert_dir": str(cert_dir),
                "database_url": database_url,
                "own_postgres": "postgres" in ports,
                "secret_key": self.state.get("secret_key") or secrets.token_urlsafe(50),
            }
        )
        self.save()
        os.chmod(self.state_file, 0o600)

    @property
    def url(self) -> str:
        return f"https://{self.state['bind']}:{self.state['ports']['https']}/"

    def app_env(self) -> dict[str, str]:
        """The environment of every Django process (and of `manage`)."""
        bind, ports = self.state["bind"], self.state["ports"]
        origins = [f"https://{bind}:{ports['https']}", f"https://localhost:{ports['https']}"]
        env = {
            "DJANGO_SETTINGS_MODULE": "educa.settings.prod",
            "DJANGO_SECRET_KEY": self.state["secret_key"],
            "DJANGO_ALLOWED_HOSTS": f"{bind},localhost",
            "DJANGO_CSRF_TRUSTED_ORIGINS": ",".join(origins),
            "DATABASE_URL": self.state["database_url"],
            "REDIS_URL": f"redis://{bind}:{ports['redis']}/0",
            "MEMCACHED_LOCATION": f"{bind}:{ports['memcached']}",
            "DJANGO_STATIC_ROOT": str(self.dir / "static"),
            "DJANGO_MEDIA_ROOT": str(self.dir / "media"),
            "MEDIA_ACCEL_REDIRECT_PREFIX": MEDIA_ACCEL_REDIRECT_PREFIX,
            "EMAIL_URL": os.environ.get("EMAIL_URL", "consolemail://"),
        }
        for name in ("UPLOAD_MAX_BYTES", "PARENT_HOST", "ADMINS", "DJANGO_LOG_LEVEL"):
            if os.environ.get(name):
                env[name] = os.environ[name]
        return env

    def process_env(self, **extra: str) -> dict[str, str]:
        env = {**os.environ, **self.state.get("app_env", {}), **extra}
        env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
        return env

    def write_env_file(self) -> None:
        lines = ["# The native stack's environment: set -a; . .prod/env; set +a"]
        lines += [f"{name}={value}" for name, value in sorted(self.state["app_env"].items())]
        path = self.dir / "env"
        path.write_text("\n".join(lines) + "\n")
        os.chmod(path, 0o600)

    # -- spawning

    def spawn(self, name: str, argv: list[str], *, env: dict[str, str]) -> None:
        log = self.logs / f"{name}.log"
        with open(log, "ab") as output:
            process = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[name] = {
            "pid": process.pid,
            "start_time": process_start_time(process.pid),
            "log": str(log),
        }
        self.save()

    def wait_port(self, name: str, port: int) -> None:
        record = self.processes.get(name)

        def up() -> bool:
            if record and not is_running(record):
                raise StackError(f"{name} exited during start-up:\n{tail(Path(record['log']))}")
            return port_open(self.state["bind"], port)

        wait_until(up, timeout=START_TIMEOUT, what=name, log=self.logs / f"{name}.log")

    def run(self, argv: list[str], *, env: dict[str, str] | None = None, what: str) -> None:
        result = subprocess.run(
            argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise StackError(f"{what} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")

    # -- PostgreSQL: owned by the unprivileged `postgres` user when we are root

    @property
    def pg_data(self) -> Path:
        return self.dir / "postgres" / "data"

    def as_postgres(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if running_as_root() else argv

    def postgres_running(self) -> bool:
        if not self.state.get("own_postgres") or not self.pg_data.exists():
            return False
        result = subprocess.run(
            self.as_postgres([str(postgres_bin() / "pg_ctl"), "-D", str(self.pg_data), "status"]),
            capture_output=True,
            check=False,
        )
        return result.returncode == 0

    def start_postgres(self) -> None:
        if not self.state.get("own_postgres") or self.postgres_running():
            return
        folder = self.dir / "postgres"
        folder.mkdir(exist_ok=True)
        if running_as_root():
            account = pwd.getpwnam("postgres")
            os.chown(folder, account.pw_uid, account.pw_gid)
        folder.chmod(0o700)
        bin_dir = postgres_bin()
        if not self.pg_data.exists():
            password_file = folder / "password"
            password_file.write_text(self.state["postgres_password"] + "\n")
            if running_as_root():
                os.chown(password_file, account.pw_uid, account.pw_gid)
            self.run(
                self.as_postgres(
                    [str(bin_dir / "initdb"), "-D", str(self.pg_data), "-U", "educa",
                     f"--pwfile={password_file}", "--auth-host=scram-sha-256",
                     "--auth-local=peer", "-E", "UTF8", "--no-sync"]
                ),
                what="initdb",
            )  # fmt: skip
            password_file.unlink()
            created = True
        else:
            created = False
        port = self.state["ports"]["postgres"]
        log = self.logs / "postgres.log"
        if running_as_root():
            log.touch()
            os.chown(log, account.pw_uid, account.pw_gid)
        self.run(
            self.as_postgres(
                [str(bin_dir / "pg_ctl"), "-D", str(self.pg_data), "-l", str(log), "-w",
                 "-t", "60", "-o",
                 f"-p {port} -c listen_addresses={self.state['bind']} -k {folder}"
                 " -c max_connections=200", "start"]
            ),
            what="PostgreSQL start",
        )  # fmt: skip
        if created:
            self.run(
                [str(bin_dir / "createdb"), "-h", self.state["bind"], "-p", str(port),
                 "-U", "educa", "educa"],
                env={**os.environ, "PGPASSWORD": self.state["postgres_password"]},
                what="createdb",
            )  # fmt: skip

    def stop_postgres(self) -> None:
        if self.postgres_running():
            self.run(
                self.as_postgres(
                    [str(postgres_bin() / "pg_ctl"), "-D", str(self.pg_data), "-m", "fast",
                     "-w", "stop"]
                ),
                what="PostgreSQL stop",
            )  # fmt: skip

    # -- the other services

    def start_redis(self) -> None:
        folder = self.dir / "redis"
        folder.mkdir(exist_ok=True)
        port = self.state["ports"]["redis"]
        self.spawn(
            "redis",
            ["redis-server", "--port", str(port), "--bind", self.state["bind"],
             "--dir", str(folder), "--save", "", "--appendonly", "no", "--daemonize", "no"],
            env=self.process_env(),
        )  # fmt: skip
        self.wait_port("redis", port)

    def start_memcached(self) -> None:
        port = self.state["ports"]["memcached"]
        argv = ["memcached", "-l", self.state["bind"], "-p", str(port), "-U", "0", "-m", "128"]
        if running_as_root():
            argv += ["-u", "nobody"]
        self.spawn("memcached", argv, env=self.process_env())
        self.wait_port("memcached", port)

    def prepare_django(self) -> None:
        manage = [sys.executable, "manage.py"]
        env = self.process_env()
        self.run([*manage, "migrate", "--no-input"], env=env, what="migrate")
        self.run([*manage, "collectstatic", "--no-input"], env=env, what="collectstatic")

    def start_uwsgi(self) -> None:
        port = self.state["ports"]["uwsgi"]
        env = self.process_env(WEB_BIND=f"{self.state['bind']}:{port}")
        self.spawn(
            "uwsgi",
            [str(VENV_BIN / "uwsgi"), "--ini", str(ROOT / "deploy" / "uwsgi.ini"),
             "--virtualenv", str(VENV_BIN.parent)],
            env=env,
        )  # fmt: skip
        self.wait_port("uwsgi", port)
        self.wait_healthy("uwsgi", "uwsgi", port)

    def start_daphne(self, index: int) -> None:
        name = f"daphne-{index + 1}"
        port = self.state["ports"]["daphne"][index]
        env = self.process_env(DAPHNE_BIND=self.state["bind"], DAPHNE_PORT=str(port))
        self.spawn(name, [str(ROOT / "deploy" / "daphne.sh")], env=env)
        self.wait_port(name, port)
        self.wait_healthy(name, "http", port)

    def wait_healthy(self, name: str, protocol: str, port: int) -> None:
        argv = [sys.executable, str(ROOT / "deploy" / "healthcheck.py"), protocol,
                f"{self.state['bind']}:{port}", "/healthz"]  # fmt: skip

        def healthy() -> bool:
            result = subprocess.run(argv, env=self.process_env(), capture_output=True, check=False)
            return result.returncode == 0

        wait_until(healthy, timeout=START_TIMEOUT, what=f"{name} /healthz", log=self.logs)

    def nginx_env(self) -> dict[str, str]:
        bind, ports = self.state["bind"], self.state["ports"]
        cert_dir = Path(self.state["cert_dir"])
        daphnes = " ".join(f"server {bind}:{port};" for port in ports["daphne"])
        env = {
            **os.environ,
            "NGINX_PID_FILE": str(self.dir / "nginx" / "nginx.pid"),
            "NGINX_ERROR_LOG": str(self.logs / "nginx-error.log"),
            "NGINX_ACCESS_LOG": str(self.logs / "nginx-access.log"),
            "NGINX_TEMP_DIR": str(self.dir / "nginx" / "temp"),
            "NGINX_CONF_DIR": str(ROOT / "nginx"),
            "NGINX_HTTP_LISTEN": f"{bind}:{ports['http']}",
            "NGINX_HTTPS_LISTEN": f"{bind}:{ports['https']}",
            "NGINX_HTTPS_PORT_SUFFIX": "" if ports["https"] == 443 else f":{ports['https']}",
            "NGINX_SERVER_NAME": "_",
            "NGINX_SSL_CERTIFICATE": str(cert_dir / "educa.crt"),
            "NGINX_SSL_CERTIFICATE_KEY": str(cert_dir / "educa.key"),
            "NGINX_UWSGI_SERVER": f"{bind}:{ports['uwsgi']}",
            "NGINX_DAPHNE_SERVERS": daphnes,
            "NGINX_STATIC_ROOT": str(self.dir / "static"),
            "NGINX_MEDIA_ROOT": str(self.dir / "media"),
            "NGINX_WORKER_PROCESSES": os.environ.get("NGINX_WORKER_PROCESSES", "auto"),
        }
        if "UPLOAD_MAX_BYTES" in self.state["app_env"]:
            env["UPLOAD_MAX_BYTES"] = self.state["app_env"]["UPLOAD_MAX_BYTES"]
        else:
            env.pop("UPLOAD_MAX_BYTES", None)
        return env

    def start_nginx(self) -> None:
        folder = self.dir / "nginx"
        folder.mkdir(exist_ok=True)
        conf = folder / "nginx.conf"
        template = ROOT / "nginx" / "educa.conf.template"
        self.run(
            ["sh", str(ROOT / "nginx" / "render.sh"), str(template), str(conf)],
            env=self.nginx_env(),
            what="rendering the Nginx template",
        )
        base = [
            "nginx",
            "-p",
            str(folder),
            "-c",
            str(conf),
            "-e",
            str(self.logs / "nginx-error.log"),
        ]
        self.run([*base, "-t"], what="nginx -t")
        self.spawn("nginx", [*base, "-g", "daemon off;"], env=self.process_env())
        self.wait_port("nginx", self.state["ports"]["https"])
        context = ssl.create_default_context(cafile=str(Path(self.state["cert_dir"]) / "educa.crt"))

        def serves() -> bool:
            try:
                with urllib.request.urlopen(f"{self.url}healthz", context=context, timeout=5):  # noqa: S310
                    return True
            except OSError:
                return False

        wait_until(serves, timeout=START_TIMEOUT, what="nginx → uWSGI", log=self.logs)

    # -- public operations

    def start(self) -> None:
        if self.running_services():
            print(
                f"The stack is already running ({', '.join(self.running_services())}): {self.url}"
            )
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        # Nginx's workers and PostgreSQL run as other users and must reach their folders.
        self.dir.chmod(0o755)
        self.logs.mkdir(exist_ok=True)
        for folder in ("static", "media"):
            (self.dir / folder).mkdir(exist_ok=True)
            (self.dir / folder).chmod(0o755)
        self.configure()
        self.state["processes"] = {}
        self.state["app_env"] = self.app_env()
        self.save()
        self.write_env_file()
        cert_dir = Path(self.state["cert_dir"])
        if not (cert_dir / "educa.crt").exists():
            make_certificate(cert_dir)
        try:
            for name in SERVICES:
                self.start_service(name)
                if name == "memcached":
                    self.prepare_django()
        except BaseException:
            self.stop()
            raise
        print(f"Educa is up: {self.url}")
        print(f"  logs in {self.logs}, environment in {self.dir / 'env'}")
        print("  stop it with: make prod-stop")

    def start_service(self, name: str) -> None:
        if name == "postgres":
            self.start_postgres()
        elif name == "daphne":
            for index in range(len(self.state["ports"]["daphne"])):
                self.start_daphne(index)
        elif name.startswith("daphne-"):
            self.start_daphne(int(name.split("-")[1]) - 1)
        else:
            getattr(self, f"start_{name}")()

    def stop_service(self, name: str) -> None:
        if name == "postgres":
            self.stop_postgres()
            return
        names = [n for n in self.processes if n == name or n.startswith(f"{name}-")]
        for process_name in names:
            terminate(self.processes.pop(process_name))
        self.save()

    def stop(self) -> None:
        for name in reversed(SERVICES):
            self.stop_service(name)
        print("Educa's native stack is stopped.")

    def status(self) -> int:
        if not self.state.get("ports"):
            print("The stack was never started here.")
            return 1
        running = self.running_services()
        print(f"{self.url} running: {', '.join(running) or 'nothing'}")
        return 0 if running else 1

    def manage(self, arguments: list[str]) -> int:
        return subprocess.call(
            [sys.executable, "manage.py", *arguments], cwd=ROOT, env=self.process_env()
        )

    # -- backups: a pg_dump snapshot (consistent by itself) and an archive of the media folder

    def database_tool(self, tool: str) -> str:
        own = postgres_bin() / tool
        return str(own) if own.exists() else tool

    def backup(self, out: Path | None) -> Path:
        if "database_url" not in self.state:
            raise StackError("no stack here: start it with `make prod` first")
        stamp = datetime.datetime.now(tz=datetime.UTC).strftime("%Y%m%d-%H%M%S")
        target = (out or ROOT / "backups" / stamp).resolve()
        target.mkdir(parents=True, exist_ok=False)
        dump = target / "database.dump"
        # The dump comes first: every file it references was on disk when the archive is made.
        self.run(
            [self.database_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
             f"--file={dump}", f"--dbname={self.state['database_url']}"],
            what="pg_dump",
        )  # fmt: skip
        media = Path(self.state["app_env"]["DJANGO_MEDIA_ROOT"])
        with tarfile.open(target / "media.tar.gz", "w:gz") as archive:
            archive.add(media, arcname="media")
        manifest = {
            "created": datetime.datetime.now(tz=datetime.UTC).isoformat(),
            "database": dump.name,
            "media": "media.tar.gz",
        }
        (target / "manifest.json").write_text(json.dumps(manifest, indent=2))
        print(f"Backup written to {target}")
        return target

    def restore(self, source: Path) -> None:
        source = source.resolve()
        dump, archive_path = source / "database.dump", source / "media.tar.gz"
        if not dump.exists() or not archive_path.exists():
            raise StackError(f"{source} holds no database.dump and media.tar.gz")
        if "database_url" not in self.state:
            raise StackError("no stack here: start it with `make prod` first")
        self.run(
            [self.database_tool("pg_restore"), "--clean", "--if-exists", "--no-owner",
             "--no-privileges", "--single-transaction", "--exit-on-error",
             f"--dbname={self.state['database_url']}", str(dump)],
            what="pg_restore",
        )  # fmt: skip
        media = Path(self.state["app_env"]["DJANGO_MEDIA_ROOT"])
        incoming = media.with_name("media.restoring")
        shutil.rmtree(incoming, ignore_errors=True)
        incoming.mkdir()
        with tarfile.open(archive_path) as archive:
            archive.extractall(incoming, filter="data")
        shutil.rmtree(media, ignore_errors=True)
        (incoming / "media").rename(media)
        media.chmod(0o755)
        incoming.rmdir()
        self.flush_cache()
        print(f"Restored {source}")

    def flush_cache(self) -> None:
        """Cached pages of the old data must not outlive the restore."""
        port = self.state["ports"]["memcached"]
        try:
            with socket.create_connection((self.state["bind"], port), timeout=2) as sock:
                sock.sendall(b"flush_all\r\n")
                sock.recv(64)
        except OSError:
            print("warning: Memcached did not answer; restart it to drop cached pages")


def terminate(record: dict) -> None:
    """SIGTERM, then SIGKILL after STOP_TIMEOUT; only if the pid is still the one we started."""
    if not is_running(record):
        return
    os.kill(record["pid"], signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        if not is_running(record):
            return
        time.sleep(0.1)
    os.kill(record["pid"], signal.SIGKILL)
    wait_until(lambda: not is_running(record), timeout=5, what=f"pid {record['pid']} to exit")


def make_certificate(out: Path) -> None:
    """A self-signed certificate for localhost and 127.0.0.1 (for local use; never committed)."""
    out.mkdir(parents=True, exist_ok=True)
    key, cert = out / "educa.key", out / "educa.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "825",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert),
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
         "-addext", "basicConstraints=critical,CA:FALSE"],
        check=True, capture_output=True,
    )  # fmt: skip
    key.chmod(0o600)
    print(f"Self-signed certificate: {cert} (key {key})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--state-dir", type=Path, default=Path(os.environ.get("PROD_STATE_DIR", ROOT / ".prod"))
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("start")
    commands.add_parser("stop")
    commands.add_parser("status")
    for name in ("service-stop", "service-start"):
        command = commands.add_parser(name)
        command.add_argument(
            "service", choices=[*SERVICES, "daphne-1", "daphne-2", "daphne-3", "daphne-4"]
        )
    manage = commands.add_parser("manage")
    manage.add_argument("arguments", nargs=argparse.REMAINDER)
    backup = commands.add_parser("backup")
    backup.add_argument("--out", type=Path)
    restore = commands.add_parser("restore")
    restore.add_argument("source", type=Path)
    cert = commands.add_parser("cert")
    cert.add_argument("--out", type=Path, default=ROOT / "certs")
    cert.add_argument("--force", action="store_true")
    options = parser.parse_args(argv)

    if options.command == "cert":
        if (options.out / "educa.crt").exists() and not options.force:
            print(f"{options.out / 'educa.crt'} exists (--force to replace it)")
            return 0
        make_certificate(options.out)
        return 0
    stack = Stack(options.state_dir)
    try:
        if options.command == "start":
            stack.start()
        elif options.command == "stop":
            stack.stop()
        elif options.command == "status":
            return stack.status()
        elif options.command == "service-stop":
            stack.stop_service(options.service)
        elif options.command == "service-start":
            stack.start_service(options.service)
        elif options.command == "manage":
            return stack.manage(options.arguments)
        elif options.command == "backup":
            stack.backup(options.out)
        elif options.command == "restore":
            stack.restore(options.source)
    except StackError as error:
        print(f"native stack: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
