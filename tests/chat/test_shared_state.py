"""Presence, rate limits and socket counts: shared through Redis, per process without it."""

import asyncio

import pytest

from chat.runtime.shared_state import SharedState
from deploy.processes import free_port
from educa.ratelimit import rate_parse


def state(url, process_id, ttl=30.0):
    return SharedState(url=url, process_id=process_id, ttl=ttl)


@pytest.fixture
def redis_url(redis_server):
    import redis

    redis.Redis.from_url(redis_server.url).flushdb()
    return redis_server.url


@pytest.fixture
def dead_redis_url():
    return f"redis://127.0.0.1:{free_port()}/0"


async def test_processes_share_the_online_list_and_count_a_person_once(redis_url):
    first, second = state(redis_url, "p1"), state(redis_url, "p2")
    assert await first.presence_add(room_id=1, username="ann") is True
    assert await second.presence_add(room_id=1, username="ann") is False
    assert await second.presence_add(room_id=1, username="bob") is True
    assert await first.presence_list(room_id=1) == ["ann", "bob"]
    assert await first.presence_remove(room_id=1, username="ann") is False
    assert await second.presence_remove(room_id=1, username="ann") is True
    assert await first.presence_list(room_id=1) == ["bob"]
    await first.close()
    await second.close()


async def test_a_silent_processs_entries_are_reaped_once(redis_url):
    alive, other, crashed = (state(redis_url, name, ttl=0.5) for name in ("a", "o", "c"))
    await alive.presence_add(room_id=1, username="ann")
    await other.presence_add(room_id=1, username="carl")
    await crashed.presence_add(room_id=1, username="bob")
    await asyncio.sleep(0.3)
    assert (await alive.refresh())[1] == {}
    assert (await other.refresh())[1] == {}
    await asyncio.sleep(0.35)
    # Only the crashed process missed its refresh; one process reports the departure.
    assert (await alive.refresh())[1] == {1: ["bob"]}
    assert (await other.refresh())[1] == {}
    assert await alive.presence_list(room_id=1) == ["ann", "carl"]
    for each in (alive, other, crashed):
        await each.close()


async def test_the_rate_limit_is_shared_by_processes(redis_url):
    rate = rate_parse("3/10s")
    first, second = state(redis_url, "p1"), state(redis_url, "p2")
    allowed = await first.rate_allow_many([(1, 7), (1, 7)], rate=rate)
    allowed += await second.rate_allow_many([(1, 7), (1, 7)], rate=rate)
    assert allowed == [True, True, True, False]
    assert await first.rate_allow_many([(2, 7)], rate=rate) == [True]
    await first.close()
    await second.close()


async def test_one_batch_counts_each_sender_on_its_own(redis_url):
    checker = state(redis_url, "p1")
    allowed = await checker.rate_allow_many(
        [(1, 7), (1, 8), (1, 7), (1, 8), (1, 7)], rate=rate_parse("2/10s")
    )
    assert allowed == [True, True, True, True, False]
    await checker.close()


async def test_a_refund_gives_a_counted_message_back(redis_url):
    rate = rate_parse("2/10s")
    checker = state(redis_url, "p1")
    assert await checker.rate_allow_many([(1, 7), (1, 7)], rate=rate) == [True, True]
    await checker.rate_refund_many([(1, 7)])
    assert await checker.rate_allow_many([(1, 7), (1, 7)], rate=rate) == [True, False]
    await checker.close()


async def test_a_refund_takes_back_only_what_its_own_process_counted(redis_url):
    rate = rate_parse("2/10s")
    first, second = state(redis_url, "p1"), state(redis_url, "p2")
    assert await second.rate_allow_many([(1, 7)], rate=rate) == [True]
    await first.rate_refund_many([(1, 7)])
    assert await first.rate_allow_many([(1, 7), (1, 7)], rate=rate) == [True, False]
    await first.close()
    await second.close()


async def test_the_socket_limit_is_shared_by_processes(redis_url):
    first, second = state(redis_url, "p1"), state(redis_url, "p2")
    assert await first.socket_acquire(user_id=7, socket_id="a", limit=2)
    assert await second.socket_acquire(user_id=7, socket_id="b", limit=2)
    assert not await first.socket_acquire(user_id=7, socket_id="c", limit=2)
    await second.socket_release(user_id=7, socket_id="b")
    assert await first.socket_acquire(user_id=7, socket_id="c", limit=2)
    await first.close()
    await second.close()


async def test_without_redis_presence_is_per_process(dead_redis_url):
    local = state(dead_redis_url, "p1")
    assert await local.presence_add(room_id=1, username="ann") is True
    assert await local.presence_list(room_id=1) == ["ann"]
    assert local.shared is False
    assert await local.presence_remove(room_id=1, username="ann") is True
    await local.close()


async def test_without_redis_rate_and_socket_limits_are_per_process(dead_redis_url):
    local = state(dead_redis_url, "p1")
    rate = rate_parse("2/10s")
    assert await local.rate_allow_many([(1, 7), (1, 7), (1, 7)], rate=rate) == [True, True, False]
    assert await local.socket_acquire(user_id=7, socket_id="a", limit=1)
    assert not await local.socket_acquire(user_id=7, socket_id="b", limit=1)
    await local.close()


async def test_without_redis_a_refund_gives_a_counted_message_back(dead_redis_url):
    local = state(dead_redis_url, "p1")
    rate = rate_parse("1/10s")
    assert await local.rate_allow_many([(1, 7)], rate=rate) == [True]
    await local.rate_refund_many([(1, 7)])
    assert await local.rate_allow_many([(1, 7), (1, 7)], rate=rate) == [True, False]
    await local.close()


async def test_with_no_redis_configured_state_is_per_process():
    local = state("", "p1")
    assert await local.presence_add(room_id=1, username="ann") is True
    assert await local.presence_list(room_id=1) == ["ann"]
    await local.close()
