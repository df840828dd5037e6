import os
import shutil
import subprocess
from pathlib import Path

import pytest

from deploy.processes import MemcachedServer, PostgresServer, RedisServer

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def pytest_sessionstart(session):
    """Compile the translations that are missing or older than their .po, as `make messages`
    does, so that `pytest` alone serves the Spanish pages."""
    for po in sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        if shutil.which("msgfmt") is None:
            pytest.exit("msgfmt is missing: install Debian's gettext (make system-packages)")
        # Written aside, then renamed: a concurrent session never reads half a catalogue.
        partial = mo.with_suffix(f".{os.getpid()}.tmp")
        subprocess.run(["msgfmt", "--check", "-o", str(partial), str(po)], check=True)
        partial.replace(mo)


def pytest_collection_modifyitems(items):
    """Every transactional test gets serialized_rollback=True.

    A transactional test without it ends with a flush that re-creates content types under new
    ids and drops the data migrations' rows (the Instructors group); the next test that restores
    the serialized data then fails on a duplicate content type, whatever order the tests run in.
    Tests can be transactional through the marker or through the transactional_db and
    live_server fixtures.
    """
    transactional_fixtures = {"transactional_db", "live_server"}
    for item in items:
        marker = item.get_closest_marker("django_db")
        kwargs = dict(marker.kwargs) if marker else {}
        transactional = kwargs.get("transaction") or transactional_fixtures & set(
            getattr(item, "fixturenames", ())
        )
        if transactional and not kwargs.get("serialized_rollback"):
            kwargs.update(transaction=True, serialized_rollback=True)
            args = marker.args if marker else ()
            item.add_marker(pytest.mark.django_db(*args, **kwargs), append=False)


@pytest.fixture(scope="session")
def postgres_server():
    """The suite's PostgreSQL: DATABASE_URL when given, else a throwaway cluster."""
    if os.environ.get("DATABASE_URL"):
        yield None
        return
    server = PostgresServer()
    server.start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(postgres_server):
    from django.conf import settings

    if postgres_server is not None:
        settings.DATABASES["default"].update(
            {"HOST": "127.0.0.1", "PORT": str(postgres_server.port), "USER": "educa"}
        )


@pytest.fixture(scope="session")
def redis_server():
    server = RedisServer()
    server.start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def memcached_server():
    server = MemcachedServer()
    server.start()
    yield server
    server.close()


@pytest.fixture
def redis_channel_layer(settings, redis_server):
    """Point Channels at the throwaway redis-server for one test."""
    from channels.layers import channel_layers

    from educa.settings.base import redis_channel_layer as layer_settings

    # The production layer's configuration (timeouts, retries, capacity) on this server.
    settings.CHANNEL_LAYERS = {"default": layer_settings({"address": redis_server.url})}
    channel_layers.backends.clear()
    yield redis_server
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def _empty_default_cache():
    """Each test starts with an empty cache: cache keys hold versions that restart with each
    test's database, so an entry left by another test could be read as current."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _empty_throttle_windows():
    """Each test starts with no API or e-mail throttle used: without Redis they count in this
    process, across tests."""
    from educa.ratelimit import local_throttle_windows

    local_throttle_windows.clear()


@pytest.fixture
def throttle_in_memory(settings):
    """API throttles counted in this process: no round trip of theirs in a test's query counts."""
    settings.THROTTLE_REDIS_URL = ""


@pytest.fixture
def memcached_cache(settings, memcached_server):
    """Point Django's default cache at the throwaway memcached for one test.

    The production backend and options, except that a server marked dead is tried again after
    0.5 s instead of 10 s, so a test can watch caching resume.
    """
    from django.core.cache import cache

    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "educa.cache_backends.PyMemcacheCache",
            "LOCATION": [memcached_server.location],
            "OPTIONS": {**settings.MEMCACHED_OPTIONS, "retry_timeout": 0.2, "dead_timeout": 0.5},
            "VERSION": settings.CACHE_RENDERING_VERSION,
        },
    }
    cache.clear()
    yield memcached_server
    cache.close()


@pytest.fixture
def browser_session(request, live_server, monkeypatch, settings):
    """Headless Chromium on the live server (tests/browser_support.py).

    Fails the test if any page had a script error, a CSP violation or ran an injected script.
    """
    from django.db import connections
    from playwright.sync_api import sync_playwright

    from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, BrowserSession, screenshot_dir_for

    # Sync Playwright keeps an event loop running in this thread; the ORM calls of the test
    # itself are still plain synchronous calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # E-mailed links lead to the live server.
    settings.SITE_URL = live_server.url
    shots = screenshot_dir_for(request.node.nodeid)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        session = BrowserSession(browser, live_server.url, shots)
        try:
            yield session
        finally:
            browser.close()
            # With Playwright's loop running, the ORM calls of the test opened a connection of
            # their own; left open, it would keep the test database from being dropped.
            connections.close_all()
    assert session.problems == [], "\n".join(session.problems)


@pytest.fixture
def browser_page(browser_session):
    """One watched page of `browser_session`."""
    return browser_session.new_page()


def current_database_url() -> str:
    """DATABASE_URL of the database the running test uses (pytest-django's test_<NAME>)."""
    from urllib.parse import quote

    from django.db import connection

    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    user = quote(db.get("USER") or "", safe="")
    return f"postgres://{user}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def live_asgi_server(transactional_db):
    """Factory: start real Daphne/Uvicorn processes against this test's database.

    `live_asgi_server("daphne", REDIS_URL=..., CHAT_HEARTBEAT="1")` returns a started
    deploy.processes.AsgiServer (test settings, DATABASE_URL of the test database; extra keyword
    arguments become environment variables). Every server started is stopped after the test.
    """
    from deploy.processes import AsgiServer

    started = []

    def start(kind: str = "daphne", **env: str) -> AsgiServer:
        server = AsgiServer(
            kind,
            {
                "DJANGO_SETTINGS_MODULE": "educa.settings.test",
                "DATABASE_URL": current_database_url(),
                "REDIS_URL": "",
                "MEMCACHED_LOCATION": "",
                **env,
            },
        )
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.close()


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on a free local port, with Django's SMTP backend sending to it; its
    `messages` are what arrived (email.message.EmailMessage)."""
    import email
    import email.policy
    import socket

    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
            self.messages.append(
                email.message_from_bytes(envelope.content, policy=email.policy.default)
            )
            return "250 Message accepted for delivery"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield inbox
    controller.stop()
