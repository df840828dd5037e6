"""/healthz and /readyz against real Redis and Memcached servers, stopped where a test says."""

import pytest
from channels.layers import channel_layers
from django.core.cache import caches

from deploy.processes import MemcachedServer, RedisServer


@pytest.fixture
def own_redis(settings):
    """A redis-server of this test's own, so stopping it disturbs no other test."""
    server = RedisServer()
    server.start()
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": server.url, "socket_connect_timeout": 1}]},
        }
    }
    channel_layers.backends.clear()
    yield server
    server.close()
    channel_layers.backends.clear()


@pytest.fixture
def own_memcached(settings):
    server = MemcachedServer()
    server.start()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
            "LOCATION": server.location,
            "OPTIONS": {"ignore_exc": True, "connect_timeout": 0.2, "timeout": 0.2},
        }
    }
    yield server
    server.close()
    caches["default"].close()


def test_healthz_answers_without_touching_any_service(client):
    # No django_db mark: a database query here would fail the test.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_every_part_ready(client, own_redis, own_memcached):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {
        "database": "ok",
        "cache": "ok",
        "channel_layer": "ok",
    }


@pytest.mark.django_db
def test_readyz_names_the_channel_layer_when_redis_is_down(client, own_redis, own_memcached):
    own_redis.stop()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["channel_layer"]


@pytest.mark.django_db
def test_readyz_names_the_cache_when_memcached_is_down(client, own_redis, own_memcached):
    own_memcached.stop()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["cache"]


@pytest.mark.django_db
def test_readyz_recovers_when_the_service_returns(client, own_redis, own_memcached):
    own_redis.stop()
    assert client.get("/readyz").status_code == 503
    own_redis.start()
    assert client.get("/readyz").status_code == 200


@pytest.mark.django_db
def test_readyz_is_never_cached(client, own_redis, own_memcached):
    response = client.get("/readyz")
    assert "no-cache" in response["Cache-Control"]


def test_health_endpoints_refuse_other_methods(client):
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405
