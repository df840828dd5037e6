"""Cache and API settings as production loads them from the environment."""

import pytest

from tests.deploy.test_settings import prod_settings


@pytest.fixture(scope="module")
def values():
    return prod_settings()


def test_memcached_is_used_with_every_listed_server(values):
    cache = values["CACHES"]["default"]

    assert cache["BACKEND"] == "educa.cache_backends.PyMemcacheCache"
    assert cache["LOCATION"] == ["cache1.example.com:11211", "cache2.example.com:11211"]


def test_a_dead_memcached_makes_pages_slower_never_failing(values):
    options = values["CACHES"]["default"]["OPTIONS"]

    assert options["ignore_exc"] is True
    assert options["connect_timeout"] <= 0.5 and options["timeout"] <= 0.5
    assert options["use_pooling"] is True


def test_without_memcached_the_cache_is_local_memory():
    values = prod_settings(MEMCACHED_LOCATION="")

    assert values["CACHES"]["default"]["BACKEND"] == "educa.cache_backends.LocMemCache"


def test_throttles_count_in_redis_when_it_is_configured(values):
    assert values["THROTTLE_REDIS_URL"] == values["REDIS_URL"] != ""


def test_without_redis_throttles_count_in_each_process():
    values = prod_settings(REDIS_URL="")

    assert values["THROTTLE_REDIS_URL"] == ""


def test_no_cache_holds_throttle_counters(values):
    assert list(values["CACHES"]) == ["default"]


def test_sessions_never_live_in_the_cache_alone(values):
    assert values["SESSION_ENGINE"] in (
        "django.contrib.sessions.backends.db",
        "django.contrib.sessions.backends.cached_db",
    )


def test_api_rates_are_strict_by_default(values):
    rates = values["REST_FRAMEWORK"]["DEFAULT_THROTTLE_RATES"]

    assert rates == {"anon": "60/m", "user": "300/m", "token": "5/m"}


def test_api_rates_come_from_the_environment():
    values = prod_settings(
        API_THROTTLE_ANON="1000/s", API_THROTTLE_USER="2000/s", API_THROTTLE_TOKEN="50/m"
    )

    rates = values["REST_FRAMEWORK"]["DEFAULT_THROTTLE_RATES"]
    assert rates == {"anon": "1000/s", "user": "2000/s", "token": "50/m"}


def test_the_api_offers_token_and_session_authentication_only(values):
    assert values["REST_FRAMEWORK"]["DEFAULT_AUTHENTICATION_CLASSES"] == [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ]
