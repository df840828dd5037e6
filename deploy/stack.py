"""The native stack's configuration and its servers, started in order and stopped backwards.

The state folder holds stack.json (ports, secrets, the environment of the Django processes and
a record of every process started), env, logs/, static/, media/, and PostgreSQL's and Nginx's
folders. Ports are fresh at each start; the secret key and the database password stay.
"""

import json
import os
import secrets
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path

from deploy.certificate import make_certificate
from deploy.processes import (
    ROOT,
    START_TIMEOUT,
    PostgresCluster,
    free_ports,
    is_running,
    memcached_command,
    nginx_command,
    redis_command,
    run,
    spawn,
    terminate,
    wait_for_port,
    wait_until,
)

VENV_BIN = Path(sys.executable).parent
MEDIA_ACCEL_REDIRECT_PREFIX = "/protected-media/"
# Start order; stop runs it backwards.
SERVICES = ("postgres", "redis", "memcached", "uwsgi", "daphne", "nginx", "periodic")
# What the `periodic` process runs (deploy/periodic.py), and how often: cron's job elsewhere.
PERIODIC_COMMAND = ["send_mention_emails"]
PERIODIC_SECONDS = 60
# Services run as several instances, named uwsgi-1, uwsgi-2, daphne-1, ...
INSTANCES = ("uwsgi", "daphne")
PRODUCTION_SETTINGS = "educa.settings.prod"


class Stack:
    def __init__(self, state_dir: Path, *, settings_module: str = PRODUCTION_SETTINGS):
        self.dir = state_dir.resolve()
        self.logs = self.dir / "logs"
        self.state_file = self.dir / "stack.json"
        self.state = json.loads(self.state_file.read_text()) if self.state_file.exists() else {}
        self.settings_module = settings_module

    # -- state

    def save(self) -> None:
        self.state_file.write_text(json.dumps(self.state, indent=2, sort_keys=True))

    @property
    def processes(self) -> dict:
        return self.state.setdefault("processes", {})

    @property
    def bind(self) -> str:
        return self.state["bind"]

    @property
    def ports(self) -> dict:
        return self.state["ports"]

    @property
    def url(self) -> str:
        return f"https://{self.bind}:{self.ports['https']}/"

    def running_services(self) -> list[str]:
        names = [name for name, record in self.processes.items() if is_running(record)]
        if self.state.get("own_postgres") and self.postgres().running():
            names.append("postgres")
        return sorted(names)

    # -- configuration

    def configure(self) -> None:
        bind = os.environ.get("PROD_BIND", "127.0.0.1")
        cert_dir = Path(os.environ.get("PROD_CERT_DIR", ROOT / "certs")).resolve()
        # Two of each application server, so that each can be restarted while the other serves.
        uwsgi_count = int(os.environ.get("PROD_UWSGI_COUNT", "2"))
        daphne_count = int(os.environ.get("PROD_DAPHNE_COUNT", "2"))
        database_url = os.environ.get("DATABASE_URL", "")
        # One call: every server of the stack gets a port of its own.
        chosen = free_ports(3 + uwsgi_count + daphne_count, bind)
        ports = {
            "http": int(os.environ.get("PROD_HTTP_PORT", "8080")),
            "https": int(os.environ.get("PROD_HTTPS_PORT", "8443")),
            "redis": chosen.pop(),
            "memcached": chosen.pop(),
            "uwsgi": [chosen.pop() for _ in range(uwsgi_count)],
            "daphne": [chosen.pop() for _ in range(daphne_count)],
        }
        if not database_url:
            ports["postgres"] = chosen.pop()
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
                "processes": {},
            }
        )
        self.state["app_env"] = self.app_env()
        self.save()
        os.chmod(self.state_file, 0o600)
        self.write_env_file()

    def app_env(self) -> dict[str, str]:
        """The environment of every Django process (and of `manage`)."""
        bind, ports = self.bind, self.ports
        origins = [f"https://{bind}:{ports['https']}", f"https://localhost:{ports['https']}"]
        env = {
            "DJANGO_SETTINGS_MODULE": self.settings_module,
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

    # -- one server each

    def spawn(self, name: str, argv: list[str], *, env: dict[str, str]) -> None:
        _, record = spawn(argv, log=self.logs / f"{name}.log", env=env, new_session=True)
        self.processes[name] = record
        self.save()

    def wait_port(self, name: str, port: int) -> None:
        wait_for_port(port, self.bind, record=self.processes.get(name), what=name)

    def postgres(self) -> PostgresCluster:
        return PostgresCluster(
            self.dir / "postgres",
            port=self.ports.get("postgres", 0),
            bind=self.bind,
            log=self.logs / "postgres.log",
            settings="-c max_connections=200",
        )

    def start_postgres(self) -> None:
        cluster = self.postgres()
        if not self.state["own_postgres"] or cluster.running():
            return
        created = not cluster.exists()
        if created:
            cluster.create(password=self.state["postgres_password"])
        cluster.start()
        if created:
            cluster.create_database("educa", password=self.state["postgres_password"])

    def stop_postgres(self) -> None:
        if self.state.get("own_postgres") and self.postgres().running():
            self.postgres().stop()

    def start_redis(self) -> None:
        folder = self.dir / "redis"
        folder.mkdir(exist_ok=True)
        port = self.ports["redis"]
        self.spawn("redis", redis_command(port, self.bind, folder), env=self.process_env())
        self.wait_port("redis", port)

    def start_memcached(self) -> None:
        port = self.ports["memcached"]
        self.spawn("memcached", memcached_command(port, self.bind), env=self.process_env())
        self.wait_port("memcached", port)

    def prepare_django(self) -> None:
        manage = [sys.executable, "manage.py"]
        env = self.process_env()
        run([*manage, "migrate", "--no-input"], env=env, what="migrate")
        run([*manage, "collectstatic", "--no-input"], env=env, what="collectstatic")

    def start_uwsgi(self, index: int) -> None:
        name = f"uwsgi-{index + 1}"
        port = self.ports["uwsgi"][index]
        self.spawn(
            name,
            [str(VENV_BIN / "uwsgi"), "--ini", str(ROOT / "deploy" / "uwsgi.ini"),
             "--virtualenv", str(VENV_BIN.parent)],
            env=self.process_env(WEB_BIND=f"{self.bind}:{port}", **self.uwsgi_processes()),
        )  # fmt: skip
        self.wait_port(name, port)
        self.wait_healthy(name, "uwsgi", port)

    def uwsgi_processes(self) -> dict[str, str]:
        """WEB_PROCESSES for each uWSGI instance: the cores shared out between the instances
        (uwsgi.ini's default, one per core each, would run twice as many as there are cores)."""
        if "WEB_PROCESSES" in os.environ:
            return {}
        share = max(1, (os.cpu_count() or 1) // len(self.ports["uwsgi"]))
        return {"WEB_PROCESSES": str(share)}

    def start_daphne(self, index: int) -> None:
        name = f"daphne-{index + 1}"
        port = self.ports["daphne"][index]
        env = self.process_env(DAPHNE_BIND=self.bind, DAPHNE_PORT=str(port))
        self.spawn(name, [str(ROOT / "deploy" / "daphne.sh")], env=env)
        self.wait_port(name, port)
        self.wait_healthy(name, "http", port)

    def wait_healthy(self, name: str, protocol: str, port: int) -> None:
        argv = [sys.executable, str(ROOT / "deploy" / "healthcheck.py"), protocol,
                f"{self.bind}:{port}", "/healthz"]  # fmt: skip

        def healthy() -> bool:
            result = subprocess.run(argv, env=self.process_env(), capture_output=True, check=False)
            return result.returncode == 0

        wait_until(healthy, timeout=START_TIMEOUT, what=f"{name} /healthz", log=self.logs)

    def nginx_env(self) -> dict[str, str]:
        bind, ports = self.bind, self.ports
        cert_dir = Path(self.state["cert_dir"])
        # max_fails=0: Nginx never sets an instance aside. A stopped one refuses connections at
        # once and Nginx passes the request to the next; set aside, it would be taken back only
        # when a trial request ends, which for a WebSocket may be hours later, so two instances
        # restarted in turn could both be set aside ("no live upstreams").
        uwsgis, daphnes = (
            " ".join(f"server {bind}:{port} max_fails=0;" for port in ports[kind])
            for kind in INSTANCES
        )
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
            "NGINX_UWSGI_SERVERS": uwsgis,
            "NGINX_DAPHNE_SERVERS": daphnes,
            "NGINX_STATIC_ROOT": str(self.dir / "static"),
            "NGINX_MEDIA_ROOT": str(self.dir / "media"),
            "NGINX_WORKER_PROCESSES": os.environ.get("NGINX_WORKER_PROCESSES", "auto"),
        }
        # The port-80 redirect serves the hosts Django serves (nginx/render.sh).
        for name in ("UPLOAD_MAX_BYTES", "DJANGO_ALLOWED_HOSTS", "PARENT_HOST"):
            if name in self.state["app_env"]:
                env[name] = self.state["app_env"][name]
            else:
                env.pop(name, None)
        return env

    def start_nginx(self) -> None:
        folder = self.dir / "nginx"
        folder.mkdir(exist_ok=True)
        conf = folder / "nginx.conf"
        run(
            ["sh", str(ROOT / "nginx" / "render.sh"), str(ROOT / "nginx" / "educa.conf.template"),
             str(conf)],
            env=self.nginx_env(),
            what="rendering the Nginx template",
        )  # fmt: skip
        argv = nginx_command(folder, conf, self.logs / "nginx-error.log")
        run([*argv, "-t"], what="nginx -t")
        self.spawn("nginx", [*argv, "-g", "daemon off;"], env=self.process_env())
        self.wait_port("nginx", self.ports["https"])
        context = ssl.create_default_context(cafile=str(Path(self.state["cert_dir"]) / "educa.crt"))

        def serves() -> bool:
            try:
                with urllib.request.urlopen(f"{self.url}healthz", context=context, timeout=5):  # noqa: S310
                    return True
            except OSError:
                return False

        wait_until(serves, timeout=START_TIMEOUT, what="nginx → uWSGI", log=self.logs)

    def start_periodic(self) -> None:
        argv = [sys.executable, "-m", "deploy.periodic", "--every", str(PERIODIC_SECONDS),
                *PERIODIC_COMMAND]  # fmt: skip
        self.spawn("periodic", argv, env=self.process_env())

    # -- the whole stack

    def start(self) -> None:
        if running := self.running_services():
            print(f"The stack is already running ({', '.join(running)}): {self.url}")
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        # Nginx's workers and PostgreSQL run as other users and must reach their folders.
        self.dir.chmod(0o755)
        self.logs.mkdir(exist_ok=True)
        for folder in ("static", "media"):
            (self.dir / folder).mkdir(exist_ok=True)
            (self.dir / folder).chmod(0o755)
        self.configure()
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
        """Start a service: every instance of uwsgi or daphne, or one (`daphne-2`)."""
        kind, _, number = name.partition("-")
        if kind in INSTANCES:
            indexes = [int(number) - 1] if number else range(len(self.ports[kind]))
            for index in indexes:
                getattr(self, f"start_{kind}")(index)
        else:
            getattr(self, f"start_{name}")()

    def stop_service(self, name: str) -> None:
        if name == "postgres":
            self.stop_postgres()
            return
        for process_name in [n for n in self.processes if n == name or n.startswith(f"{name}-")]:
            terminate(self.processes.pop(process_name))
        self.save()

    def stop(self) -> None:
        if not self.state.get("ports"):
            print("No stack was started here.")
            return
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

    def manage(self, arguments: list[str], **extra_env: str) -> int:
        return subprocess.call(
            [sys.executable, "manage.py", *arguments], cwd=ROOT, env=self.process_env(**extra_env)
        )
