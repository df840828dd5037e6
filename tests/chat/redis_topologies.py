"""Redis beyond one server for tests: two shards, and a master with a replica and 3 Sentinels."""

import time

import pytest
import redis

from deploy.processes import RedisServer, SentinelServer

MASTER_NAME = "educa"


class SentinelGroup:
    """A master, its replica and three Sentinels (quorum 2), each a real process."""

    def __init__(self):
        self.master = RedisServer()
        self.replica = RedisServer(replica_of=self.master)
        self.sentinels = [SentinelServer(self.master, master_name=MASTER_NAME) for _ in range(3)]

    @property
    def servers(self):
        return [self.master, self.replica, *self.sentinels]

    @property
    def addresses(self) -> str:
        """REDIS_SENTINELS for this group."""
        return ",".join(sentinel.address for sentinel in self.sentinels)

    def start(self) -> None:
        for server in self.servers:
            server.start()
        # Ready for a failover once the replica is in sync and every Sentinel knows the others.
        self.wait_for(lambda: self._replica_synced() and self._sentinels_know_each_other())

    def _replica_synced(self) -> bool:
        info = self.client(self.replica).info("replication")
        return info.get("master_link_status") == "up"

    def _sentinels_know_each_other(self) -> bool:
        for sentinel in self.sentinels:
            client = self.client(sentinel)
            if len(client.sentinel_sentinels(MASTER_NAME)) < 2:
                return False
            if not client.sentinel_slaves(MASTER_NAME):
                return False
        return True

    def _replica_promoted(self) -> bool:
        """Every Sentinel reports the replica as a master in good health, and it takes writes."""
        for sentinel in self.sentinels:
            state = self.client(sentinel).sentinel_master(MASTER_NAME)
            healthy = state["is_master"] and not (state["is_sdown"] or state["is_odown"])
            if state["port"] != self.replica.port or not healthy:
                return False
        return self.client(self.replica).info("replication")["role"] == "master"

    def kill_master_and_wait_for_failover(self) -> None:
        self.master.kill()
        self.wait_for(self._replica_promoted)

    @staticmethod
    def client(server) -> redis.Redis:
        return redis.Redis(port=server.port, socket_timeout=1, decode_responses=True)

    @staticmethod
    def wait_for(predicate, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("the Sentinel group did not settle")
            time.sleep(0.1)

    def close(self) -> None:
        for server in self.servers:
            server.close()


@pytest.fixture
def two_shards():
    """Two empty redis-servers of this test alone."""
    shards = [RedisServer(), RedisServer()]
    for shard in shards:
        shard.start()
    yield shards
    for shard in shards:
        shard.close()


@pytest.fixture
def sentinel_group(settings):
    """A master with a replica and three Sentinels of this test alone, in REDIS_SENTINELS."""
    group = SentinelGroup()
    group.start()
    settings.REDIS_SENTINELS = group.addresses.split(",")
    yield group
    group.close()


def shard_urls(shards) -> str:
    """The comma-separated addresses of `shards`, as REDIS_URLS or CHAT_REDIS_URL take them."""
    return ",".join(shard.url for shard in shards)
