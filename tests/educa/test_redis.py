"""Redis beyond one server: shard addresses, keys mapped to shards, Sentinel-found masters."""

import asyncio
import importlib

import pytest
import redis
from django.core.exceptions import ImproperlyConfigured

from educa.ratelimit import RedisWindows, rate_parse, throttle_acquire
from educa.redis import (
    Shards,
    async_client,
    async_client_close,
    layer_host,
    redis_addresses,
    shard_index,
)
from educa.settings import base
from tests.chat import redis_topologies
from tests.chat.redis_topologies import MASTER_NAME, shard_urls

two_shards = redis_topologies.two_shards
sentinel_group = redis_topologies.sentinel_group

# --- addresses and keys -------------------------------------------------------------------------


def test_a_role_lists_its_shard_addresses_and_an_empty_one_has_none():
    assert redis_addresses(" redis://a:6379/0 , redis://b:6379/0,") == [
        "redis://a:6379/0",
        "redis://b:6379/0",
    ]
    assert redis_addresses("") == []


def test_keys_spread_over_every_shard_and_each_key_keeps_its_shard():
    keys = [f"chat:presence:{room_id}" for room_id in range(200)]
    shards = [shard_index(key, 2) for key in keys]
    assert sorted(set(shards)) == [0, 1]
    assert shards == [shard_index(key, 2) for key in keys]
    assert {shard_index(key, 1) for key in keys} == {0}


def test_a_split_batch_gives_each_shard_its_keys_with_their_positions():
    shards = Shards(["first", "second"])
    keys = [f"k{n}" for n in range(20)]
    split = shards.split(keys)
    assert sorted(position for _, positions in split for position in positions) == list(range(20))
    for client, positions in split:
        assert all(shards.for_key(keys[position]) == client for position in positions)


def test_a_sentinel_address_names_the_master_and_the_sentinels():
    host = layer_host("sentinel://:s%40cret@educa-2/3", sentinels=["s1:26379", "s2:26380"])
    assert host["master_name"] == "educa-2"
    assert (host["db"], host["password"]) == (3, "s@cret")
    assert host["sentinels"] == [("s1", 26379), ("s2", 26380)]


def test_a_sentinel_address_without_sentinels_is_refused():
    with pytest.raises(ImproperlyConfigured):
        layer_host("sentinel://educa/0", sentinels=[])


# --- settings -----------------------------------------------------------------------------------


def redis_settings(**environment) -> dict:
    """The Redis roles of educa.settings.base as read with `environment`."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("REDIS_URL", "REDIS_URLS", "REDIS_SENTINELS", "REDIS_SENTINEL_MASTER"):
            patch.delenv(name, raising=False)
        for name, value in environment.items():
            patch.setenv(name, value)
        module = importlib.reload(base)
        values = {
            "layer": module.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"],
            "chat": module.CHAT_REDIS_URL,
            "throttles": module.THROTTLE_REDIS_URL,
        }
    importlib.reload(base)
    return values


def test_redis_urls_are_the_shards_of_every_role_and_win_over_redis_url():
    values = redis_settings(REDIS_URL="redis://one:6379/0", REDIS_URLS="redis://a/0,redis://b/0")
    assert [host["address"] for host in values["layer"]] == ["redis://a/0", "redis://b/0"]
    assert values["chat"] == values["throttles"] == "redis://a/0,redis://b/0"


def test_sentinels_give_every_role_its_masters_one_shard_each():
    values = redis_settings(
        REDIS_URL="redis://one:6379/0",
        REDIS_SENTINELS="s1:26379,s2:26379,s3:26379",
        REDIS_SENTINEL_MASTER="educa-1,educa-2",
    )
    assert [host["master_name"] for host in values["layer"]] == ["educa-1", "educa-2"]
    assert values["layer"][0]["sentinels"] == [("s1", 26379), ("s2", 26379), ("s3", 26379)]
    assert values["chat"] == values["throttles"] == "sentinel://educa-1/0,sentinel://educa-2/0"


# --- two shards ---------------------------------------------------------------------------------


def evalsha_calls(server) -> int:
    stats = redis.Redis(port=server.port).info("commandstats")
    return stats.get("cmdstat_evalsha", {}).get("calls", 0)


def test_a_batch_of_rate_limits_costs_one_call_per_shard(two_shards):
    clients = [redis.Redis.from_url(shard.url) for shard in two_shards]
    windows = RedisWindows(*clients)
    rate = rate_parse("1/10s")
    # Loads the script on both shards.
    windows.acquire_many([f"warm-up-{n}" for n in range(20)], rate)
    for shard in two_shards:
        redis.Redis(port=shard.port).config_resetstat()
    keys = [f"chat:rate:{room_id}:7" for room_id in range(20)]
    waits = windows.acquire_many([*keys, keys[0]], rate)
    assert [evalsha_calls(shard) for shard in two_shards] == [1, 1]
    # Every key counted once, on its own shard; the repeated key is over its rate.
    assert [not wait for wait in waits] == [True] * 20 + [False]
    held = [set(redis.Redis(port=shard.port).keys("chat:rate:*")) for shard in two_shards]
    assert held[0] and held[1] and not held[0] & held[1]
    for client in clients:
        client.close()


def test_throttles_spread_over_the_shards_and_still_limit(settings, two_shards):
    settings.THROTTLE_REDIS_URL = shard_urls(two_shards)
    rate = rate_parse("1/10s")
    waits = [throttle_acquire(f"api:anon:10.0.0.{n}", rate) for n in range(20)]
    assert waits == [0.0] * 20
    assert throttle_acquire("api:anon:10.0.0.1", rate) > 0
    assert all(redis.Redis(port=shard.port).dbsize() for shard in two_shards)


# --- Sentinel -----------------------------------------------------------------------------------


def test_throttles_count_on_the_new_master_after_a_failover(settings, sentinel_group):
    settings.THROTTLE_REDIS_URL = f"sentinel://{MASTER_NAME}/0"
    rate = rate_parse("5/60s")
    assert throttle_acquire("api:anon:before", rate) == 0.0
    sentinel_group.kill_master_and_wait_for_failover()
    assert throttle_acquire("api:anon:after", rate) == 0.0
    assert sentinel_group.client(sentinel_group.replica).exists("api:anon:after")


async def test_a_sentinel_clients_pool_waits_for_a_free_connection(sentinel_group):
    client = async_client(
        f"sentinel://{MASTER_NAME}/0",
        sentinels=sentinel_group.addresses.split(","),
        max_connections=2,
        pool_timeout=5,
    )
    # More commands at once than connections: they queue instead of failing.
    await asyncio.gather(*(client.incr("calls") for _ in range(20)))
    assert await client.get("calls") == b"20"
    await async_client_close(client)
