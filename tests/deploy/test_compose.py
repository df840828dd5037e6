"""docker-compose.prod.yml: valid against the Compose specification, and in agreement with the
Nginx template, the server configurations, the Dockerfile and .env.example."""

import re
import subprocess
import sys
from pathlib import Path, PurePosixPath

from tests.deploy.conftest import ROOT

SERVICES = {"db", "redis", "memcached", "migrate", "web", "daphne", "nginx"}


def test_compose_file_follows_the_compose_specification():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "check-jsonschema"), "--builtin-schema",
         "vendor.compose-spec", str(ROOT / "docker-compose.prod.yml")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_every_part_of_the_stack(compose):
    services = compose["services"]
    assert set(services) == SERVICES
    assert services["db"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert services["memcached"]["image"].startswith("memcached:")


def test_long_running_services_have_healthchecks(compose):
    for name in SERVICES - {"migrate"}:
        assert compose["services"][name]["healthcheck"]["test"], name


def test_web_and_daphne_wait_for_migrations_and_healthy_backends(compose):
    for name in ("web", "daphne"):
        depends = compose["services"][name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        for backend in ("db", "redis", "memcached"):
            assert depends[backend]["condition"] == "service_healthy", (name, backend)
    nginx_depends = compose["services"]["nginx"]["depends_on"]
    assert {name: dep["condition"] for name, dep in nginx_depends.items()} == {
        "web": "service_healthy",
        "daphne": "service_healthy",
    }


def test_migrate_is_one_shot_with_collectstatic(compose):
    migrate = compose["services"]["migrate"]
    command = " ".join(migrate["command"])
    assert "migrate --no-input" in command
    assert "collectstatic --no-input" in command
    assert migrate["restart"] == "no"


def test_daphne_can_be_scaled(compose):
    daphne = compose["services"]["daphne"]
    assert "container_name" not in daphne
    assert "ports" not in daphne


def test_nginx_publishes_the_ports_the_template_listens_on(compose, compose_nginx_conf):
    published = {port.rsplit(":", 1)[1] for port in compose["services"]["nginx"]["ports"]}
    listens = set(re.findall(r"^\s*listen ([^\s;]+)", compose_nginx_conf, re.MULTILINE))
    assert published == listens == {"80", "443"}
    assert re.search(r"listen 443 ssl http2", compose_nginx_conf)


def test_nginx_upstreams_are_the_web_and_daphne_services(compose, compose_nginx_conf):
    assert re.search(r"upstream educa_uwsgi \{\s*server web:8000;", compose_nginx_conf)
    assert re.search(r"upstream educa_daphne \{[^}]*server daphne:8001;", compose_nginx_conf)
    # ...which is where the servers listen inside their containers.
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "WEB_BIND=0.0.0.0:8000" in dockerfile
    assert "DAPHNE_PORT=8001" in dockerfile
    assert "socket = 0.0.0.0:8000" in (ROOT / "deploy" / "uwsgi.ini").read_text()
    assert '"${DAPHNE_PORT:-8001}"' in (ROOT / "deploy" / "daphne.sh").read_text()
    assert "127.0.0.1:8000" in compose["services"]["web"]["healthcheck"]["test"]
    assert "127.0.0.1:8001" in compose["services"]["daphne"]["healthcheck"]["test"]


def _mounts(service: dict) -> dict[str, str]:
    mounts = {}
    for volume in service["volumes"]:
        source, target, *_ = volume.split(":")
        mounts[source] = target
    return mounts


def test_nginx_reads_static_and_media_where_django_writes_them(compose, compose_nginx_conf):
    app_env = compose["x-app"]["environment"]
    app_mounts = _mounts(compose["services"]["web"])
    nginx_mounts = _mounts(compose["services"]["nginx"])
    for volume, setting in (("static", "DJANGO_STATIC_ROOT"), ("media", "DJANGO_MEDIA_ROOT")):
        assert app_mounts[volume] == nginx_mounts[volume] == app_env[setting]
    assert f"alias {app_env['DJANGO_STATIC_ROOT']}/;" in compose_nginx_conf
    assert f"alias {app_env['DJANGO_MEDIA_ROOT']}/;" in compose_nginx_conf
    assert {"postgres-data", "static", "media"} <= set(compose["volumes"])


def test_course_files_reach_nginx_internal_location(compose, compose_nginx_conf):
    prefix = compose["x-app"]["environment"]["MEDIA_ACCEL_REDIRECT_PREFIX"]
    location = re.search(
        rf"location \^~ {re.escape(prefix)} \{{(?P<body>[^}}]*)\}}", compose_nginx_conf
    )
    assert location, f"no location for {prefix}"
    assert "internal;" in location["body"]
    assert "X-Content-Type-Options" in location["body"]


def test_certificate_paths_are_mounted(compose):
    nginx = compose["services"]["nginx"]
    cert_dir = _mounts(nginx)["./certs"]
    for name in ("NGINX_SSL_CERTIFICATE", "NGINX_SSL_CERTIFICATE_KEY"):
        assert str(PurePosixPath(nginx["environment"][name]).parent) == cert_dir


def test_no_source_code_is_bind_mounted(compose):
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source in {"./certs"} or not source.startswith((".", "/")), (name, volume)


def test_dockerfile_is_multi_stage_and_runs_the_app_as_non_root():
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM \S+ AS (\w+)", dockerfile, re.MULTILINE)
    assert {"build", "app", "nginx"} <= set(stages)
    app_stage = dockerfile.split(" AS app")[1].split("\nFROM ")[0]
    assert re.search(r"^USER educa$", app_stage, re.MULTILINE)


def _names_read_by(path: Path) -> set[str]:
    text = path.read_text()
    return set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]+)\"", text))


def test_env_example_lists_every_variable():
    listed = set(
        re.findall(r"^(?:# )?([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M)
    )
    read = set()
    for settings_file in (ROOT / "educa" / "settings").glob("*.py"):
        read |= _names_read_by(settings_file)
    compose_text = (ROOT / "docker-compose.prod.yml").read_text()
    read |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", compose_text))
    missing = read - listed
    assert not missing, f".env.example lacks {sorted(missing)}"


def test_no_secret_or_certificate_is_in_the_repository():
    example = (ROOT / ".env.example").read_text()
    assert re.search(r"^DJANGO_SECRET_KEY=$", example, re.MULTILINE)
    assert re.search(r"^POSTGRES_PASSWORD=$", example, re.MULTILINE)
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert not [name for name in tracked if name.endswith((".key", ".pem", ".crt", ".p12"))]
    assert ".env" not in tracked
    ignored = (ROOT / ".gitignore").read_text().split()
    assert {".env", "certs/", "backups/", ".prod/"} <= set(ignored)
