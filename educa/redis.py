"""Which Redis holds what: the one home of Redis addresses, clients and shards.

A Redis role (the channel layer, the chat's shared state, the throttles) is a comma-separated
list of addresses, one per shard. An address is a Redis URL (``redis://host:6379/0``,
``rediss://``, ``unix://``) or ``sentinel://[:password@]<master>[/<db>]``: the master of that
name as the Sentinels (settings.REDIS_SENTINELS) report it, so that after a failover new
commands go to the new master. A key lives on the shard `shard_index` picks: a stable hash of
the key, the same in every process.
"""

import zlib
from typing import Generic, TypeVar
from urllib.parse import unquote

import redis
from django.core.exceptions import ImproperlyConfigured
from redis import asyncio as aioredis
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.asyncio.sentinel import SentinelConnectionPool as AsyncSentinelConnectionPool
from redis.sentinel import Sentinel

SENTINEL_SCHEME = "sentinel://"
# Asking a Sentinel where the master is must not hang on a dead Sentinel: the next one is asked.
SENTINEL_TIMEOUTS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}


def redis_addresses(value: str) -> list[str]:
    """The shard addresses of a setting such as CHAT_REDIS_URL ("" = none: no Redis)."""
    return [address.strip() for address in value.split(",") if address.strip()]


def sentinel_address(master: str, db: int = 0) -> str:
    return f"{SENTINEL_SCHEME}{master}/{db}"


def shard_index(key: str, shards: int) -> int:
    """The shard of `key` among `shards`: CRC-32 of the key, stable across processes."""
    return zlib.crc32(key.encode()) % shards


def _sentinel_parts(address: str, sentinels: list[str]) -> dict:
    """master_name, db, password and sentinel (host, port) pairs of a sentinel:// address."""
    if not sentinels:
        raise ImproperlyConfigured(f"{address} needs REDIS_SENTINELS (host:port list).")
    credentials, _, rest = address.removeprefix(SENTINEL_SCHEME).rpartition("@")
    master, _, db = rest.partition("/")
    if not master or not (db or "0").isdigit():
        raise ImproperlyConfigured(f"A Sentinel address looks like sentinel://educa/0: {address}")
    parts = {
        "master_name": master,
        "db": int(db or 0),
        "sentinels": [
            (host.rpartition(":")[0], int(host.rpartition(":")[2])) for host in sentinels
        ],
    }
    password = unquote(credentials.partition(":")[2])
    if password:
        parts["password"] = password
    return parts


def layer_host(address: str, *, sentinels: list[str]) -> dict:
    """The channels-redis `hosts` entry of an address."""
    if not address.startswith(SENTINEL_SCHEME):
        return {"address": address}
    return {**_sentinel_parts(address, sentinels), "sentinel_kwargs": SENTINEL_TIMEOUTS}


class _BlockingSentinelPool(AsyncSentinelConnectionPool, aioredis.BlockingConnectionPool):
    """A Sentinel-managed pool that waits for a free connection instead of refusing one."""


def sync_client(address: str, *, sentinels: list[str], **options) -> redis.Redis:
    """A synchronous client of one shard; `options` go to its connections."""
    if not address.startswith(SENTINEL_SCHEME):
        return redis.Redis.from_url(address, **options)
    parts = _sentinel_parts(address, sentinels)
    sentinel = Sentinel(parts.pop("sentinels"), sentinel_kwargs=SENTINEL_TIMEOUTS)
    return sentinel.master_for(parts.pop("master_name"), **parts, **options)


def async_client(
    address: str, *, sentinels: list[str], max_connections: int, pool_timeout: float, **options
) -> aioredis.Redis:
    """An asyncio client of one shard whose pool waits up to `pool_timeout` for one of its
    `max_connections` (redis-py refuses the 101st connection of a default pool at once)."""
    pool_options = {"max_connections": max_connections, "timeout": pool_timeout, **options}
    if not address.startswith(SENTINEL_SCHEME):
        return aioredis.Redis(
            connection_pool=aioredis.BlockingConnectionPool.from_url(address, **pool_options)
        )
    parts = _sentinel_parts(address, sentinels)
    sentinel = AsyncSentinel(parts.pop("sentinels"), sentinel_kwargs=SENTINEL_TIMEOUTS)
    return sentinel.master_for(
        parts.pop("master_name"),
        connection_pool_class=_BlockingSentinelPool,
        **parts,
        **pool_options,
    )


async def async_client_close(client: aioredis.Redis) -> None:
    """Close the client's pool, and its Sentinel connections if it has some."""
    await client.aclose(close_connection_pool=True)
    sentinel = getattr(client.connection_pool, "sentinel_manager", None)
    if sentinel is not None:
        await sentinel.aclose()


Client = TypeVar("Client", redis.Redis, aioredis.Redis)


class Shards(Generic[Client]):
    """The clients of one Redis role, one per shard, and which of them holds a key."""

    def __init__(self, clients: list[Client]):
        if not clients:
            raise ValueError("Shards need at least one client.")
        self.clients = clients

    def for_key(self, key: str) -> Client:
        return self.clients[shard_index(key, len(self.clients))]

    def split(self, keys: list[str]) -> list[tuple[Client, list[int]]]:
        """Per shard holding some of `keys`: its client and the positions of its keys, in order."""
        positions: dict[int, list[int]] = {}
        for position, key in enumerate(keys):
            positions.setdefault(shard_index(key, len(self.clients)), []).append(position)
        return [(self.clients[index], held) for index, held in sorted(positions.items())]
