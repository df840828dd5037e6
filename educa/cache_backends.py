"""Cache backends that can be watched: hits and misses counted, Memcached outages logged.

pymemcache with `ignore_exc` turns a dead server into silent misses; `HashClient` (the client
Django uses) then stops asking it for `dead_timeout` seconds and tries again. The client here
logs a warning when a server starts failing and a line when it answers again, so an outage is
never silent, while pages keep answering without the cache.

Hits and misses: each `get`/`get_many` logs `cache hit <key>` or `cache miss <key>` at DEBUG on
the `educa.cache` logger and counts them per process in `cache_stats()`.
"""

import logging
import threading
from collections import Counter

from django.core.cache.backends.locmem import LocMemCache as DjangoLocMemCache
from django.core.cache.backends.memcached import PyMemcacheCache as DjangoPyMemcacheCache
from pymemcache import HashClient

logger = logging.getLogger("educa.cache")

_MISSING = object()
_stats = Counter()
_stats_lock = threading.Lock()


def cache_stats() -> dict[str, int]:
    """This process's counts: hits, misses, and server failures seen (`errors`)."""
    with _stats_lock:
        return {"hits": _stats["hits"], "misses": _stats["misses"], "errors": _stats["errors"]}


def cache_stats_reset() -> None:
    with _stats_lock:
        _stats.clear()


def _count(name: str, number: int = 1) -> None:
    if number:
        with _stats_lock:
            _stats[name] += number


class ObservedMixin:
    """Counts and logs hits and misses of `get` and `get_many`."""

    def get(self, key, default=None, version=None):
        value = super().get(key, _MISSING, version=version)
        if value is _MISSING:
            _count("misses")
            logger.debug("cache miss %s", key)
            return default
        _count("hits")
        logger.debug("cache hit %s", key)
        return value

    def get_many(self, keys, version=None):
        keys = list(keys)
        found = super().get_many(keys, version=version)
        _count("hits", len(found))
        _count("misses", len(keys) - len(found))
        if logger.isEnabledFor(logging.DEBUG):
            for key in keys:
                logger.debug("cache %s %s", "hit" if key in found else "miss", key)
        return found


class WatchedHashClient(HashClient):
    """pymemcache's HashClient that reports a failing server once, and its return."""

    def __init__(self, *args, **kwargs):
        self._failing = set()
        super().__init__(*args, **kwargs)

    def _watched(self, client, func):
        def call(*args, **kwargs):
            try:
                result = func(*args, **kwargs)
            except Exception as error:
                self._report_failure(client.server, error)
                raise
            self._report_success(client.server)
            return result

        return call

    def _report_failure(self, server, error) -> None:
        _count("errors")
        if server not in self._failing:
            self._failing.add(server)
            logger.warning(
                "Memcached %s is not answering (%s: %s); serving without the cache",
                _server_name(server), type(error).__name__, error,
            )  # fmt: skip

    def _report_success(self, server) -> None:
        if server in self._failing:
            self._failing.discard(server)
            logger.warning("Memcached %s answers again; caching resumes", _server_name(server))

    def _safely_run_func(self, client, func, default_val, *args, **kwargs):
        return super()._safely_run_func(
            client, self._watched(client, func), default_val, *args, **kwargs
        )

    def _set_many(self, client, values, *args, **kwargs):
        # The parent swallows exceptions of set_many itself when ignore_exc is on.
        try:
            failed = self._watched(client, client.set_many)(values, *args, **kwargs)
        except Exception as error:
            if not self.ignore_exc:
                return [], [], error
            return [], list(values), None
        return [key for key in values if key not in failed], failed, None


def _server_name(server) -> str:
    if isinstance(server, tuple | list) and len(server) == 2:
        return f"{server[0]}:{server[1]}"
    return str(server)


class PyMemcacheCache(ObservedMixin, DjangoPyMemcacheCache):
    """Django's PyMemcacheCache, observed; one or several servers (hashed by pymemcache)."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = WatchedHashClient

    def close(self, **kwargs):
        # Django calls this after every request and disconnects, so each request would open a
        # new connection. pymemcache drops a socket that failed and opens a new one on the next
        # command, so keeping them is safe (as Django's PyLibMCCache does).
        pass


class LocMemCache(ObservedMixin, DjangoLocMemCache):
    """Django's local-memory cache, observed (development and tests)."""
