"""Log-in brute force: django-axes locks out a username from one client address for a while."""

import subprocess
import sys
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.contrib.auth import SESSION_KEY
from django.db import connections
from django.test import Client
from django.urls import Resolver404, resolve, reverse
from rest_framework.authtoken.models import Token

from students.lockout import LOCKED_OUT
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"  # tests.factories.UserFactory's
ATTACKER = "198.51.100.66"
VICTIM_ELSEWHERE = "203.0.113.5"
PROXY = "127.0.0.1"
TOKEN_URL = "/api/token/"


@pytest.fixture(autouse=True)
def behind_nginx(settings):
    """As in production: Nginx hands Django the client's address as REMOTE_ADDR."""
    settings.TRUSTED_PROXY_COUNT = 0
    settings.AXES_FAILURE_LIMIT = 5


def from_client(address, forwarded_for=None):
    """What Django gets from Educa's Nginx for a client at `address`."""
    return {"REMOTE_ADDR": address, "HTTP_X_FORWARDED_FOR": forwarded_for or address}


@pytest.fixture
def alice():
    return UserFactory(username="alice")


def html_log_in(client, password, address, username="alice", url=None):
    return client.post(
        url or reverse("login"),
        {"username": username, "password": password},
        **from_client(address),
    )


def fail(times, address=ATTACKER, username="alice", url=None):
    for _ in range(times):
        response = html_log_in(Client(), "wrong-guess", address, username=username, url=url)
    return response


def logged_in(client) -> bool:
    return SESSION_KEY in client.session


# --- HTML log-in --------------------------------------------------------------------------------


def test_failures_below_the_limit_leave_the_log_in_working(alice):
    fail(4)
    client = Client()

    response = html_log_in(client, PASSWORD, ATTACKER)

    assert response.status_code == 302
    assert logged_in(client)


def test_the_failure_that_reaches_the_limit_gets_the_lock_out_page(alice):
    response = fail(5)

    assert response.status_code == 429
    assert "Too many failed log-ins" in response.content.decode()


def test_a_locked_out_client_cannot_log_in_even_with_the_right_password(alice):
    fail(5)
    client = Client()

    response = html_log_in(client, PASSWORD, ATTACKER)

    assert response.status_code == 429
    assert not logged_in(client)


def test_the_lock_out_page_says_how_long_to_wait(alice):
    fail(5)

    response = html_log_in(Client(), PASSWORD, ATTACKER)

    assert LOCKED_OUT % {"minutes": 15} in response.content.decode()
    assert response["Retry-After"] == "900"
    assert response["Content-Type"].startswith("text/html")


def test_the_limit_is_counted_per_username_and_address_not_per_username(alice):
    fail(5)
    client = Client()

    response = html_log_in(client, PASSWORD, VICTIM_ELSEWHERE)

    assert response.status_code == 302
    assert logged_in(client)


def test_behind_an_http_proxy_clients_are_told_apart_by_the_forwarded_address(settings, alice):
    # TRUSTED_PROXY_COUNT = 1: Django sees the proxy's address, the client's in the header.
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(5):
        Client().post(
            reverse("login"),
            {"username": "alice", "password": "wrong-guess"},
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=f"{VICTIM_ELSEWHERE}, {ATTACKER}",
        )
    client = Client()

    response = client.post(
        reverse("login"),
        {"username": "alice", "password": PASSWORD},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=VICTIM_ELSEWHERE,
    )

    assert response.status_code == 302
    assert logged_in(client)


def test_another_username_from_the_attackers_address_is_not_locked_out(alice):
    bob = UserFactory(username="bob")
    fail(5)

    response = html_log_in(Client(), PASSWORD, ATTACKER, username=bob.username)

    assert response.status_code == 302


def test_a_forged_forwarded_header_cannot_lock_out_someone_else(alice):
    for _ in range(5):
        Client().post(
            reverse("login"),
            {"username": "alice", "password": "wrong-guess"},
            **from_client(ATTACKER, forwarded_for=VICTIM_ELSEWHERE),
        )
    client = Client()

    response = html_log_in(client, PASSWORD, VICTIM_ELSEWHERE)

    assert response.status_code == 302
    assert logged_in(client)


def test_changing_the_forwarded_header_does_not_escape_the_lock_out(alice):
    for hop in range(5):
        Client().post(
            reverse("login"),
            {"username": "alice", "password": "wrong-guess"},
            **from_client(ATTACKER, forwarded_for=f"192.0.2.{hop}"),
        )

    response = Client().post(
        reverse("login"),
        {"username": "alice", "password": PASSWORD},
        **from_client(ATTACKER, forwarded_for="192.0.2.200"),
    )

    assert response.status_code == 429


def test_a_successful_log_in_starts_the_count_again(alice):
    fail(4)
    html_log_in(Client(), PASSWORD, ATTACKER)

    response = fail(4)

    assert response.status_code == 400


def test_the_lock_out_ends_after_15_minutes(alice):
    fail(5)
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=15, seconds=1)
    )
    client = Client()

    response = html_log_in(client, PASSWORD, ATTACKER)

    assert response.status_code == 302
    assert logged_in(client)


def test_attempts_during_the_lock_out_do_not_prolong_it(alice):
    fail(5)
    locked_at = AccessAttempt.objects.get().attempt_time

    fail(3)

    assert AccessAttempt.objects.get().attempt_time == locked_at


def test_the_counters_survive_a_cache_outage(settings, alice):
    fail(5)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}

    response = html_log_in(Client(), PASSWORD, ATTACKER)

    assert response.status_code == 429


# --- admin log-in -------------------------------------------------------------------------------


def test_the_admin_log_in_locks_out_too():
    UserFactory(username="alice", is_staff=True, is_superuser=True)
    admin_login = reverse("admin:login")
    fail(5, url=admin_login)
    client = Client()

    response = html_log_in(client, PASSWORD, ATTACKER, url=admin_login)

    assert response.status_code == 429
    assert not logged_in(client)


def test_failures_on_the_admin_and_the_site_log_in_add_up():
    UserFactory(username="alice", is_staff=True)
    fail(3, url=reverse("admin:login"))
    fail(2)

    response = html_log_in(Client(), PASSWORD, ATTACKER, url=reverse("admin:login"))

    assert response.status_code == 429


# --- API token ----------------------------------------------------------------------------------


def token_request(password, address=ATTACKER):
    return Client().post(
        TOKEN_URL,
        {"username": "alice", "password": password},
        content_type="application/json",
        **from_client(address),
    )


@pytest.fixture(params=["drf_stock_view", "project"])
def token_endpoint(request, settings):
    """DRF's own obtain_auth_token, and the API's view once it exists at /api/token/.

    The API's own throttle (per address, a few a minute) is raised out of the way: these tests
    are about the lock-out, which must hold whatever that throttle allows.
    """
    rates = settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {})
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**rates, "token": "1000/m"},
    }
    if request.param == "drf_stock_view":
        settings.ROOT_URLCONF = "tests.security.token_urls"
    else:
        try:
            resolve(TOKEN_URL)
        except Resolver404:
            pytest.skip("the API has no /api/token/ yet")
    return request.param


def test_the_token_endpoint_gives_a_token_below_the_limit(token_endpoint, alice):
    for _ in range(4):
        token_request("wrong-guess")

    response = token_request(PASSWORD)

    assert response.status_code == 200
    assert response.json()["token"] == Token.objects.get(user=alice).key


def test_the_token_endpoint_locks_out_with_a_json_message(token_endpoint, alice):
    for _ in range(5):
        response = token_request("wrong-guess")

    assert response.status_code == 429
    assert response.json() == {"message": LOCKED_OUT % {"minutes": 15}, "code": "locked_out"}
    assert response["Retry-After"] == "900"


def test_a_locked_out_client_gets_no_token_even_with_the_right_password(token_endpoint, alice):
    for _ in range(5):
        token_request("wrong-guess")

    response = token_request(PASSWORD)

    assert response.status_code == 429
    assert response.json()["code"] == "locked_out"
    assert not Token.objects.filter(user=alice).exists()


def test_the_token_endpoint_locks_out_only_that_address(token_endpoint, alice):
    for _ in range(5):
        token_request("wrong-guess")

    assert token_request(PASSWORD, address=VICTIM_ELSEWHERE).status_code == 200


# --- configuration ------------------------------------------------------------------------------


def lock_out_settings(**environment) -> list[str]:
    """AXES_FAILURE_LIMIT and the cool-off in seconds, as the settings read them at start-up."""
    code = (
        "from educa.settings import test as s; "
        "print(s.AXES_FAILURE_LIMIT, int(s.AXES_COOLOFF_TIME.total_seconds()))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=django_settings.BASE_DIR,
        env={"PATH": "/usr/bin:/bin", **environment},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()


def test_by_default_five_failures_lock_out_for_fifteen_minutes():
    assert lock_out_settings() == ["5", "900"]


def test_the_failure_limit_and_cool_off_come_from_the_environment():
    assert lock_out_settings(AXES_FAILURE_LIMIT="9", AXES_COOLOFF_MINUTES="30") == ["9", "1800"]


def test_failures_are_counted_in_the_database_per_username_and_address():
    assert django_settings.AXES_HANDLER == "axes.handlers.database.AxesDatabaseHandler"
    assert django_settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


@pytest.mark.django_db(transaction=True)
async def test_the_lock_out_page_is_served_under_asgi_too(async_client):
    # `make run` serves pages with Daphne: django-axes' middleware takes its async path.
    await sync_to_async(UserFactory)(username="alice")
    try:
        for _ in range(5):
            response = await async_client.post(
                reverse("login"), {"username": "alice", "password": "wrong-guess"}
            )
    finally:
        # The views ran in asgiref's thread: its connection would outlive the test database.
        await sync_to_async(connections.close_all)()

    assert response.status_code == 429
    assert "Too many failed log-ins" in response.content.decode()
