import time

import pytest

from educa.cache_backends import RedisCache


@pytest.fixture
def store(redis_server):
    cache = RedisCache(redis_server.url, {"KEY_PREFIX": f"test-{time.monotonic_ns()}"})
    yield cache
    cache.clear()


def test_a_counter_counts_from_one(store):
    assert [store.count("hits", timeout=60) for _ in range(3)] == [1, 2, 3]


def test_a_new_counter_lives_for_its_timeout(store):
    store.count("hits", timeout=1)
    time.sleep(1.2)

    assert store.count("hits", timeout=1) == 1


def test_a_counter_reads_back_as_a_cached_number(store):
    store.count("hits", timeout=60)

    assert store.get("hits") == 1
