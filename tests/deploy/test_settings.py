"""educa.settings.prod, loaded the way servers load it: in a fresh process, from the environment."""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from deploy.processes import PostgresServer

ROOT = Path(__file__).resolve().parents[2]

PROD_ENV = {
    "DJANGO_SETTINGS_MODULE": "educa.settings.prod",
    "DJANGO_SECRET_KEY": "kq3R9v_x2T8mZ4pLw7Yb1Nc6Hf0Dj5Gs-Ae8Uo3Ii9Pr2Tt7Vz4Xc1Bn6Mm0Qk5Lh",
    "DJANGO_ALLOWED_HOSTS": "educa.example.com",
    "DATABASE_URL": "postgres://educa:secret@db.example.com:5432/educa",
    "REDIS_URL": "redis://redis.example.com:6379/0",
    "MEMCACHED_LOCATION": "cache1.example.com:11211,cache2.example.com:11211",
}


def run_in_production(command: list[str], **env: str | None) -> subprocess.CompletedProcess:
    """Runs `command` in the repository with exactly the production environment given
    (a variable given as None is left out)."""
    base = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    for name in ("DATABASE_URL", "REDIS_URL", "MEMCACHED_LOCATION", "EMAIL_URL", "ADMINS"):
        base.pop(name, None)
    environment = {**base, **PROD_ENV, **env}
    return subprocess.run(
        command,
        cwd=ROOT,
        env={name: value for name, value in environment.items() if value is not None},
        capture_output=True,
        text=True,
        timeout=60,
    )


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Runs `code` in a new interpreter with exactly the production environment given."""
    return run_in_production([sys.executable, "-c", code], **env)


def prod_settings(**env: str) -> dict:
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({name: getattr(s, name) for name in dir(s) if name.isupper()}, "
        "default=repr))"
    )
    result = run_python(code, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def settings_values():
    return prod_settings()


def test_check_deploy_reports_no_issue():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**os.environ, **PROD_ENV},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = run_python("import django; django.setup()", DJANGO_SECRET_KEY="")
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "DJANGO_SECRET_KEY is not set" in last_line


def test_production_refuses_to_start_without_a_database_url():
    result = run_python("import django; django.setup()", DATABASE_URL="")
    assert result.returncode != 0
    assert "DATABASE_URL is not set" in result.stderr.strip().splitlines()[-1]


def test_production_refuses_a_database_other_than_postgresql():
    result = run_python("import django; django.setup()", DATABASE_URL="sqlite:////tmp/educa.db")
    assert result.returncode != 0
    assert "must point at PostgreSQL" in result.stderr.strip().splitlines()[-1]


MISSING_VARIABLES = [
    ("DJANGO_SECRET_KEY", "DJANGO_SECRET_KEY is not set"),
    ("DATABASE_URL", "DATABASE_URL is not set"),
    ("DJANGO_ALLOWED_HOSTS", "DJANGO_ALLOWED_HOSTS is not set"),
]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(("variable", "message"), MISSING_VARIABLES)
def test_manage_py_without_a_required_variable_prints_one_line_and_fails(variable, message):
    result = run_in_production([sys.executable, "manage.py", "check"], **{variable: ""})
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(message)


def test_manage_py_with_the_settings_option_prints_one_line_and_fails():
    command = [sys.executable, "manage.py", "check", "--settings=educa.settings.prod"]
    result = run_in_production(command, DJANGO_SETTINGS_MODULE=None, DJANGO_SECRET_KEY="")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("DJANGO_SECRET_KEY is not set")


@pytest.mark.parametrize("module", ["educa.wsgi", "educa.asgi"])
def test_server_entry_points_without_a_secret_key_print_one_line_and_fail(module):
    result = run_python(f"import {module}", DJANGO_SECRET_KEY="")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("DJANGO_SECRET_KEY is not set")


def test_daphne_without_a_secret_key_prints_one_line_and_exits():
    command = [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", "0", "educa.asgi:application"]
    result = run_in_production(command, DJANGO_SECRET_KEY="")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("DJANGO_SECRET_KEY is not set")


def test_uwsgi_without_a_secret_key_logs_one_line_and_stops_instead_of_respawning():
    command = [str(BIN / "uwsgi"), "--ini", "deploy/uwsgi.ini"]
    result = run_in_production(
        command, DJANGO_SECRET_KEY="", WEB_BIND="127.0.0.1:0", WEB_PROCESSES="1"
    )
    # uWSGI's own start-up lines come first; the complaint is one line, once, no traceback.
    assert result.returncode != 0
    complaints = [line for line in result.stderr.splitlines() if "DJANGO_SECRET_KEY" in line]
    assert len(complaints) == 1
    assert complaints[0].startswith("DJANGO_SECRET_KEY is not set")
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def unix_socket_postgres():
    """A throwaway PostgreSQL that also listens on a Unix socket in its temp folder."""
    server = PostgresServer()
    server.start()
    yield server
    server.close()


def test_a_database_url_with_a_percent_encoded_socket_folder_connects_through_the_socket(
    unix_socket_postgres,
):
    socket_folder = quote(str(unix_socket_postgres.directory), safe="")
    url = f"postgres://educa@{socket_folder}:{unix_socket_postgres.port}/postgres"
    code = (
        "import django; django.setup(); from django.db import connection; "
        "cursor = connection.cursor(); cursor.execute('SELECT inet_server_addr()'); "
        "print(connection.settings_dict['HOST'], cursor.fetchone()[0])"
    )
    result = run_python(code, DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    # No server address: the connection is a Unix-socket one.
    assert result.stdout.splitlines()[-1].split() == [str(unix_socket_postgres.directory), "None"]


@pytest.fixture
def dot_env_file():
    """A `.env` beside manage.py that sets one variable nothing else reads."""
    path = ROOT / ".env"
    if path.exists():
        pytest.skip("this checkout has a .env of its own")
    path.write_text("EDUCA_DOT_ENV_PROBE=read\n")
    yield
    path.unlink()


READ_PROBE = "import os, django; django.setup(); print(os.environ.get('EDUCA_DOT_ENV_PROBE'))"


@pytest.mark.usefixtures("dot_env_file")
def test_production_settings_ignore_the_dot_env_file():
    result = run_python(READ_PROBE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "None"


@pytest.mark.usefixtures("dot_env_file")
def test_production_settings_read_the_dot_env_file_when_asked_to():
    result = run_python(READ_PROBE, DJANGO_READ_DOT_ENV_FILE="true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "read"


@pytest.mark.usefixtures("dot_env_file")
def test_local_settings_read_the_dot_env_file():
    result = run_python(READ_PROBE, DJANGO_SETTINGS_MODULE="educa.settings.local")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "read"


def test_cookies_are_secure_and_https_is_enforced(settings_values):
    assert settings_values["DEBUG"] is False
    assert settings_values["SESSION_COOKIE_SECURE"] is True
    assert settings_values["CSRF_COOKIE_SECURE"] is True
    assert settings_values["SECURE_SSL_REDIRECT"] is True
    assert settings_values["SECURE_HSTS_SECONDS"] >= 31536000
    assert settings_values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_services_come_from_the_environment(settings_values):
    database = settings_values["DATABASES"]["default"]
    assert database["HOST"] == "db.example.com"
    assert database["CONN_HEALTH_CHECKS"] is True
    assert settings_values["CACHES"]["default"]["LOCATION"] == [
        "cache1.example.com:11211",
        "cache2.example.com:11211",
    ]
    layer = settings_values["CHANNEL_LAYERS"]["default"]
    assert layer["CONFIG"]["hosts"][0]["address"] == "redis://redis.example.com:6379/0"


def test_course_files_go_through_nginx_internal_location(settings_values):
    assert settings_values["MEDIA_ACCEL_REDIRECT_PREFIX"] == "/protected-media/"


def test_uwsgi_style_persistent_connections_follow_the_server_configuration():
    values = prod_settings(DJANGO_CONN_MAX_AGE="600")
    assert values["DATABASES"]["default"]["CONN_MAX_AGE"] == 600


def test_database_pool_checks_connections_before_lending_them():
    code = (
        "import django; django.setup(); from django.db import connection; "
        "from psycopg_pool import ConnectionPool; "
        "print(connection.pool._check is ConnectionPool.check_connection, "
        "connection.settings_dict['CONN_MAX_AGE'])"
    )
    result = run_python(code, DJANGO_DB_POOL="1", DJANGO_CONN_MAX_AGE="600")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["True", "0"]


def test_email_url_configures_smtp():
    values = prod_settings(EMAIL_URL="smtp+tls://mailer:pw@smtp.example.com:587")
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert values["EMAIL_HOST"] == "smtp.example.com"
    assert values["EMAIL_USE_TLS"] is True


def test_email_host_variables_configure_smtp_without_a_url():
    values = prod_settings(EMAIL_HOST="smtp.example.com", EMAIL_HOST_USER="mailer")
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert values["EMAIL_HOST"] == "smtp.example.com"
    assert values["EMAIL_PORT"] == 587


def test_admins_are_parsed_from_names_and_addresses():
    values = prod_settings(ADMINS="Ada Lovelace <ada@example.com>, ops@example.com")
    assert values["ADMINS"] == [
        ["Ada Lovelace", "ada@example.com"],
        ["ops@example.com", "ops@example.com"],
    ]


def test_parent_host_subdomains_are_allowed_hosts():
    values = prod_settings(PARENT_HOST="educa.example.com")
    assert ".educa.example.com" in values["ALLOWED_HOSTS"]
    assert values["PARENT_HOST"] == "educa.example.com"


def test_no_debug_tool_is_installed_or_routed(settings_values):
    debug_apps = {"debug_toolbar", "django_extensions", "silk", "debug_panel"}
    assert not debug_apps & set(settings_values["INSTALLED_APPS"])
    assert not any("debug" in name.lower() for name in settings_values["MIDDLEWARE"])
    requirements = (ROOT / "requirements" / "prod.txt").read_text() + (
        ROOT / "requirements" / "base.txt"
    ).read_text()
    assert not any(app.replace("_", "-") in requirements.lower() for app in debug_apps)


def test_log_records_are_json_lines_on_stdout():
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('educa.test').warning('disk %s is full', 'sda', extra={'disk': 'sda'})"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout.strip().splitlines()[-1])
    assert record["level"] == "WARNING"
    assert record["logger"] == "educa.test"
    assert record["message"] == "disk sda is full"
    assert record["disk"] == "sda"


def test_redis_sentinel_configures_the_channel_layer():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "from channels_redis.utils import create_pool; "
        "host = settings.CHANNEL_LAYERS['default']['CONFIG']['hosts'][0]; "
        "print(type(create_pool(host)).__name__, host['master_name'], host['sentinels'])"
    )
    result = run_python(
        code, REDIS_SENTINELS="s1.example.com:26379,s2.example.com:26380", REDIS_SENTINEL_MASTER="m"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == (
        "SentinelConnectionPool m [('s1.example.com', 26379), ('s2.example.com', 26380)]"
    )
