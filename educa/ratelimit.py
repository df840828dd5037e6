"""Every rate limit of Educa: the "<count>/<period>" syntax and one sliding-window algorithm.

A sliding window allows at most `count` events in any `period`; a refused event is not counted.
The windows live in Redis (one Lua script counts a whole batch of keys in one round trip per
shard, with Redis's clock, for synchronous and asyncio clients alike) or in this process
(`LocalWindows`).
Who uses which (README, Configuration):

- chat messages (CHAT_RATE_LIMIT): Redis through chat's shared state, once per writer batch;
  per process while Redis is down;
- API throttles (REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]) and e-mail throttles
  (EMAIL_THROTTLE_*): `throttle_acquire`, Redis at THROTTLE_REDIS_URL, shared by every process
  and kept across their restarts; per process without it (``make run``). While Redis is down
  the API refuses (503) and the e-mail throttles count per process;
- the chat's frame budget (CHAT_FRAME_BUDGET): a `TokenBucket` per socket, in its process.

Why not the `limits` package (5.8.0 evaluated): its strategies count one key per `hit()`, and
its Redis storage sends one EVALSHA per key on a connection of its own (no call takes several
keys, and its script calls cannot join a caller's pipeline), so the chat writer's batch of up
to 500 (room, user) keys would cost up to 500 round trips instead of one. Its moving window
stamps entries with each process's own clock (`time.time()`) where servers' clocks need not
agree here; its periods are whole seconds of named units ("20 per 10 seconds"), so the
existing settings ("20/10s", "5/m", "1/500ms") would not parse; it has no per-process stand-in
while Redis is down; and its `redis` extra requires redis-py < 8 (Educa runs 8.1).
"""

import asyncio
import functools
import itertools
import logging
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass

import redis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from redis import asyncio as aioredis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from educa.redis import Shards, redis_addresses, sync_client

logger = logging.getLogger(__name__)

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*(ms|s|m|h)\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}

REDIS_ERRORS = (RedisError, OSError, TimeoutError)


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: float


@functools.lru_cache(maxsize=64)
def rate_parse(value: str) -> Rate:
    """`"20/10s"` is 20 events per 10 seconds; `"5/m"` is 5 per minute (units ms, s, m, h)."""
    match = _RATE.match(value or "")
    if not match or int(match.group(1)) < 1:
        raise ImproperlyConfigured(f"A rate looks like '20/10s', not {value!r}.")
    amount = float(match.group(2) or 1)
    return Rate(count=int(match.group(1)), seconds=amount * _UNITS[match.group(3)])


# --- in this process ----------------------------------------------------------------------------


class SlidingWindow:
    """The last `rate.count` events of one key, as monotonic timestamps."""

    __slots__ = ("rate", "events")

    def __init__(self, rate: Rate):
        self.rate = rate
        self.events: deque[float] = deque(maxlen=rate.count)

    def acquire(self, now: float | None = None) -> float:
        """Count one event: 0.0 if allowed, else the seconds until it would be (not counted)."""
        now = time.monotonic() if now is None else now
        if len(self.events) == self.rate.count:
            wait = self.events[0] + self.rate.seconds - now
            if wait > 0:
                return wait
        self.events.append(now)
        return 0.0

    def idle(self, now: float) -> bool:
        """True once no event of the window is recent enough to matter."""
        return not self.events or now - self.events[-1] >= self.rate.seconds


class LocalWindows:
    """Sliding windows by key in this process's memory; safe to share between threads."""

    def __init__(self):
        self._windows: dict[str, SlidingWindow] = {}
        self._lock = threading.Lock()
        self._sweep_above = 1024

    def acquire_many(self, keys: list[str], rate: Rate) -> list[float]:
        """As `RedisWindows.acquire_many`, counted in this process only."""
        now = time.monotonic()
        with self._lock:
            waits = [self._window(key, rate).acquire(now) for key in keys]
            if len(self._windows) > self._sweep_above:
                self._sweep(now)
        return waits

    def _window(self, key: str, rate: Rate) -> SlidingWindow:
        window = self._windows.get(key)
        if window is None or window.rate != rate:
            window = self._windows[key] = SlidingWindow(rate)
        return window

    def _sweep(self, now: float) -> None:
        # Keys of clients long gone would otherwise pile up; sweeping when the count has doubled
        # keeps the cost per call constant.
        self._windows = {key: w for key, w in self._windows.items() if not w.idle(now)}
        self._sweep_above = max(1024, 2 * len(self._windows))

    def refund_many(self, keys: list[str]) -> None:
        """Take back each key's newest event (once per listing); see `RedisWindows.refund_many`."""
        with self._lock:
            for key in keys:
                window = self._windows.get(key)
                if window is not None and window.events:
                    window.events.pop()

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()


# --- in Redis -----------------------------------------------------------------------------------

# KEYS: one sorted set per event (a key may repeat); ARGV: period in seconds, count, a prefix
# unique to the call. Per key in order: 0 if its event is counted, else the milliseconds until
# it would be. Redis's own clock stamps every event, so the servers' clocks need not agree.
ACQUIRE_MANY = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local period = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local waits = {}
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
  local held = redis.call('ZCARD', key)
  if held < limit then
    redis.call('ZADD', key, now, ARGV[3] .. ':' .. i)
    redis.call('EXPIRE', key, math.ceil(period) + 1)
    waits[i] = 0
  else
    local freed = redis.call('ZRANGE', key, held - limit, held - limit, 'WITHSCORES')
    waits[i] = math.max(1, math.ceil((tonumber(freed[2]) + period - now) * 1000))
  end
end
return waits
"""


# KEYS: one sorted set per event to take back (a key may repeat); ARGV: the prefix of the
# caller's events. Removes, per key, the newest event that carries the prefix.
REFUND_MANY = """
local prefix = ARGV[1] .. ':'
for _, key in ipairs(KEYS) do
  for _, member in ipairs(redis.call('ZREVRANGE', key, 0, -1)) do
    if string.sub(member, 1, string.len(prefix)) == prefix then
      redis.call('ZREM', key, member)
      break
    end
  end
end
return #KEYS
"""


class RedisWindows:
    """Sliding windows in Redis, shared by every process that uses the same servers.

    With several clients (one per shard, in the order of the role's addresses) each key lives
    on the shard educa.redis picks, and a batch costs one round trip per shard it touches.
    """

    def __init__(self, *clients: redis.Redis | aioredis.Redis):
        self._shards = Shards(list(clients))
        self._script = clients[0].register_script(ACQUIRE_MANY)
        self._refund = clients[0].register_script(REFUND_MANY)
        self._prefix = uuid.uuid4().hex[:16]
        self._calls = itertools.count()

    def _args(self, rate: Rate) -> list:
        return [rate.seconds, rate.count, f"{self._prefix}:{next(self._calls)}"]

    def acquire_many(self, keys: list[str], rate: Rate) -> list[float]:
        """Count one event per key, in order, in one round trip per shard (a synchronous client).

        Returns per key 0.0 if its event is counted, else the seconds until it would be.
        Raises one of REDIS_ERRORS when Redis does not answer.
        """
        waits = [0.0] * len(keys)
        for client, positions in self._shards.split(keys):
            held = [keys[position] for position in positions]
            answer = self._script(keys=held, args=self._args(rate), client=client)
            for position, wait in zip(positions, _seconds(answer), strict=True):
                waits[position] = wait
        return waits

    async def acquire_many_async(self, keys: list[str], rate: Rate) -> list[float]:
        """`acquire_many` for asyncio clients; the shards are asked at the same time."""
        split = self._shards.split(keys)
        answers = await asyncio.gather(
            *(
                self._script(
                    keys=[keys[position] for position in positions],
                    args=self._args(rate),
                    client=client,
                )
                for client, positions in split
            )
        )
        waits = [0.0] * len(keys)
        for (_, positions), answer in zip(split, answers, strict=True):
            for position, wait in zip(positions, _seconds(answer), strict=True):
                waits[position] = wait
        return waits

    async def refund_many_async(self, keys: list[str]) -> None:
        """Take back, per key listed, the newest event these windows counted under it.

        For events counted and then not used (a chat message that turned out to be a resend):
        exact when nothing else is counted through these windows in between, as the chat
        writer's batches follow each other. Raises one of REDIS_ERRORS when Redis does not
        answer.
        """
        await asyncio.gather(
            *(
                self._refund(
                    keys=[keys[position] for position in positions],
                    args=[self._prefix],
                    client=client,
                )
                for client, positions in self._shards.split(keys)
            )
        )


def _seconds(milliseconds: list) -> list[float]:
    return [int(wait) / 1000 for wait in milliseconds]


# --- throttles of synchronous views (API, e-mails) ----------------------------------------------


class StoreUnavailable(Exception):
    """The Redis that holds the throttles does not answer."""


# The throttles' windows when THROTTLE_REDIS_URL is empty, or stand-ins while it is down.
local_throttle_windows = LocalWindows()


@functools.cache
def _redis_windows(value: str, sentinels: tuple[str, ...]) -> RedisWindows:
    return RedisWindows(
        *(
            sync_client(
                address,
                sentinels=list(sentinels),
                socket_connect_timeout=1,
                socket_timeout=1,
                health_check_interval=10,
                # A pooled connection that Redis closed (a restart, a failover) is retried once
                # on a fresh one.
                retry=Retry(NoBackoff(), 1),
                retry_on_error=[RedisConnectionError, RedisTimeoutError],
            )
            for address in redis_addresses(value)
        )
    )


def throttle_acquire(key: str, rate: Rate, *, local_while_down: bool = False) -> float:
    """Count one event under `key`: 0.0 if allowed, else the seconds until it would be.

    In Redis at settings.THROTTLE_REDIS_URL (its shards, educa/redis.py) when set, else in this
    process. When Redis does not answer: with `local_while_down` this process's windows stand
    in; without, raises StoreUnavailable.
    """
    if redis_addresses(settings.THROTTLE_REDIS_URL):
        try:
            windows = _redis_windows(settings.THROTTLE_REDIS_URL, tuple(settings.REDIS_SENTINELS))
            return windows.acquire_many([key], rate)[0]
        except REDIS_ERRORS as error:
            if not local_while_down:
                raise StoreUnavailable(f"{type(error).__name__}: {error}") from error
            logger.warning("Throttle %s counted in this process only (Redis: %s)", key, error)
    return local_throttle_windows.acquire_many([key], rate)[0]


# --- per socket ---------------------------------------------------------------------------------


class TokenBucket:
    """Bursts of up to `rate.count` events, refilled at `rate.count` per `rate.seconds`.

    Two floats per socket where a sliding window keeps a timestamp per event: the frame budget
    of every idle socket costs next to nothing.
    """

    __slots__ = ("capacity", "refill", "tokens", "updated")

    def __init__(self, rate: Rate):
        self.capacity = float(rate.count)
        self.refill = rate.count / rate.seconds
        self.tokens = self.capacity
        self.updated = time.monotonic()

    def allow(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.refill)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True
