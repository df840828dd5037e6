import os

import pytest

from tests.servers import MemcachedServer, PostgresServer, RedisServer


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

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": redis_server.url, "max_connections": 1000}]},
        }
    }
    channel_layers.backends.clear()
    yield redis_server
    channel_layers.backends.clear()


@pytest.fixture
def memcached_cache(settings, memcached_server):
    """Point Django's default cache at the throwaway memcached for one test."""
    from django.core.cache import cache

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
            "LOCATION": memcached_server.location,
            "OPTIONS": {"ignore_exc": True, "connect_timeout": 0.2, "timeout": 0.2},
        }
    }
    cache.clear()
    yield memcached_server
