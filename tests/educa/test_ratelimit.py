"""The one rate limiter: rates, sliding windows in Redis and in the process, the token bucket."""

import time

import pytest
import redis
from django.core.exceptions import ImproperlyConfigured
from redis import asyncio as aioredis

from deploy.processes import free_port
from educa.ratelimit import (
    LocalWindows,
    RedisWindows,
    SlidingWindow,
    StoreUnavailable,
    TokenBucket,
    local_throttle_windows,
    rate_parse,
    throttle_acquire,
)


@pytest.fixture
def redis_url(redis_server):
    redis.Redis.from_url(redis_server.url).flushdb()
    return redis_server.url


@pytest.fixture
def client(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


# --- rates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "count", "seconds"),
    [("20/10s", 20, 10), ("60/10s", 60, 10), ("5/m", 5, 60), ("3/h", 3, 3600), ("1/500ms", 1, 0.5)],
)
def test_rates_are_parsed(text, count, seconds):
    rate = rate_parse(text)
    assert (rate.count, rate.seconds) == (count, seconds)


@pytest.mark.parametrize("text", ["", "20", "0/10s", "x/10s", "20/10 parsecs"])
def test_malformed_rates_are_refused(text):
    with pytest.raises(ImproperlyConfigured):
        rate_parse(text)


# --- in this process ------------------------------------------------------------------------------


def test_a_sliding_window_allows_count_events_per_period():
    window = SlidingWindow(rate_parse("2/10s"))
    waits = [window.acquire(now=t) for t in (0, 1, 2, 10.5, 11.5)]
    assert [not wait for wait in waits] == [True, True, False, True, True]


def test_a_refused_event_learns_when_the_oldest_leaves_the_window():
    window = SlidingWindow(rate_parse("2/10s"))
    window.acquire(now=0)
    window.acquire(now=4)
    assert window.acquire(now=7) == pytest.approx(3)


def test_local_windows_count_each_key_on_its_own():
    windows = LocalWindows()
    waits = windows.acquire_many(["a", "b", "a", "b", "a"], rate_parse("2/10s"))
    assert [not wait for wait in waits] == [True, True, True, True, False]


def test_local_windows_forget_keys_idle_for_their_period():
    windows = LocalWindows()
    windows.acquire_many([f"gone-{n}" for n in range(2000)], rate_parse("1/1ms"))
    time.sleep(0.01)

    windows.acquire_many([f"new-{n}" for n in range(4000)], rate_parse("1/h"))

    assert len(windows._windows) == 4000


# --- in Redis -------------------------------------------------------------------------------------


def test_redis_windows_are_shared_by_every_client_of_the_server(redis_url, client):
    other = redis.Redis.from_url(redis_url)
    first, second = RedisWindows(client), RedisWindows(other)
    rate = rate_parse("3/10s")
    waits = first.acquire_many(["k", "k"], rate) + second.acquire_many(["k", "k"], rate)
    other.close()
    assert [not wait for wait in waits] == [True, True, True, False]


def test_a_batch_of_keys_costs_one_round_trip(client):
    windows = RedisWindows(client)
    rate = rate_parse("2/10s")
    windows.acquire_many(["warm-up"], rate)
    client.config_resetstat()

    waits = windows.acquire_many([f"room:{n % 250}" for n in range(500)], rate)

    assert all(wait == 0 for wait in waits)
    assert client.info("commandstats")["cmdstat_evalsha"]["calls"] == 1


def test_redis_tells_a_refused_event_when_the_window_has_room(client):
    windows = RedisWindows(client)
    windows.acquire_many(["k"], rate_parse("1/10s"))
    [wait] = windows.acquire_many(["k"], rate_parse("1/10s"))
    assert 9 < wait <= 10


def test_a_lowered_rate_waits_until_enough_events_left_the_window(client):
    windows = RedisWindows(client)
    windows.acquire_many(["k"], rate_parse("3/10s"))
    time.sleep(0.5)
    windows.acquire_many(["k", "k"], rate_parse("3/10s"))

    [wait] = windows.acquire_many(["k"], rate_parse("1/10s"))

    # Two of the three events must leave: the later ones, 0.5 s after the first.
    assert 9.8 < wait <= 10


async def test_redis_windows_take_an_asyncio_client(redis_url):
    client = aioredis.Redis.from_url(redis_url)
    windows = RedisWindows(client)
    waits = await windows.acquire_many_async(["a", "b", "a"], rate_parse("1/10s"))
    await client.aclose()
    assert [not wait for wait in waits] == [True, True, False]


# --- throttles of synchronous views ---------------------------------------------------------------


def test_throttles_count_in_redis_when_it_is_configured(settings, redis_url, client):
    settings.THROTTLE_REDIS_URL = redis_url
    rate = rate_parse("1/10s")

    waits = [throttle_acquire("api:anon:10.0.0.1", rate) for _ in range(2)]

    assert waits[0] == 0 and waits[1] > 0
    assert client.zcard("api:anon:10.0.0.1") == 1


def test_without_redis_throttles_count_in_this_process(settings):
    settings.THROTTLE_REDIS_URL = ""
    rate = rate_parse("1/10s")

    waits = [throttle_acquire("api:anon:10.0.0.1", rate) for _ in range(2)]

    assert waits[0] == 0 and waits[1] > 0


def test_a_throttle_whose_redis_is_down_raises(settings):
    settings.THROTTLE_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"

    with pytest.raises(StoreUnavailable):
        throttle_acquire("api:anon:10.0.0.1", rate_parse("1/10s"))


def test_a_throttle_may_count_in_this_process_while_redis_is_down(settings):
    settings.THROTTLE_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    rate = rate_parse("1/10s")

    waits = [throttle_acquire("k", rate, local_while_down=True) for _ in range(2)]

    assert waits[0] == 0 and waits[1] > 0
    local_throttle_windows.clear()


# --- per socket -----------------------------------------------------------------------------------


def test_a_token_bucket_allows_a_burst_of_its_count_then_refuses():
    bucket = TokenBucket(rate_parse("3/10s"))
    start = bucket.updated
    assert [bucket.allow(start) for _ in range(4)] == [True, True, True, False]


def test_a_token_bucket_refills_at_its_rate():
    bucket = TokenBucket(rate_parse("3/10s"))
    start = bucket.updated
    for _ in range(3):
        bucket.allow(start)
    assert bucket.allow(start + 3.0) is False
    assert bucket.allow(start + 3.4) is True
    assert bucket.allow(start + 3.4) is False


def test_a_token_bucket_never_saves_more_than_its_count():
    bucket = TokenBucket(rate_parse("2/1s"))
    later = bucket.updated + 3600
    assert [bucket.allow(later) for _ in range(3)] == [True, True, False]
