"""The suite's throwaway PostgreSQL, Redis, Memcached, Daphne and Uvicorn servers.

They live in deploy/processes.py, the one home of process handling, which the native stack and
the benchmark use too; test modules import them from here.
"""

from deploy.processes import (
    AsgiServer,
    MemcachedServer,
    PostgresServer,
    RedisServer,
    free_port,
)

__all__ = [
    "AsgiServer",
    "MemcachedServer",
    "PostgresServer",
    "RedisServer",
    "free_port",
]
