"""State every server process must agree on: presence, rate limits and open sockets per user.

Kept in Redis (CHAT_REDIS_URL) with expiry, so a crashed process's entries vanish by themselves.
Each key lives on one shard of CHAT_REDIS_URL (educa/redis.py): a room's presence set, a user's
sockets, a (room, user) rate window. Without Redis (``make run``) or while a shard is
unreachable, each process falls back to its own state: the chat keeps working, only the limits
and the online list become per process.
"""

import asyncio
import contextlib
import logging
import math
import time
from collections import defaultdict

from django.conf import settings
from redis import asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from educa.ratelimit import LocalWindows, Rate, RedisWindows
from educa.redis import Shards, async_client, async_client_close, redis_addresses

logger = logging.getLogger(__name__)

# Redis's own clock numbers every expiry, so the processes' clocks need not agree.
_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""

_LIVE_WITH_PREFIX = """
local function live_with_prefix(key, now, prefix, except)
  local count = 0
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', key, now, '+inf')) do
    if m ~= except and string.sub(m, 1, string.len(prefix)) == prefix then count = count + 1 end
  end
  return count
end
"""

# KEYS[1] presence set; ARGV: member, ttl, key ttl, "<username>|". Returns the user's other
# live entries (0: the user has just come online).
PRESENCE_ADD = (
    _NOW
    + _LIVE_WITH_PREFIX
    + """
local others = live_with_prefix(KEYS[1], now, ARGV[4], ARGV[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return others
"""
)

# KEYS[1] presence set; ARGV: member, "<username>|". Returns the user's remaining live entries.
PRESENCE_REMOVE = (
    _NOW
    + _LIVE_WITH_PREFIX
    + """
redis.call('ZREM', KEYS[1], ARGV[1])
return live_with_prefix(KEYS[1], now, ARGV[2], '')
"""
)

# KEYS[1] presence set. Removes expired entries; returns the users who have none left.
# Atomic, so of several processes reaping at once exactly one reports each departure.
PRESENCE_REAP = (
    _NOW
    + """
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
local gone = {}
if #expired == 0 then return gone end
for _, m in ipairs(expired) do redis.call('ZREM', KEYS[1], m) end
local online = {}
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')) do
  online[string.match(m, '^(.*)|[^|]*$')] = true
end
local seen = {}
for _, m in ipairs(expired) do
  local name = string.match(m, '^(.*)|[^|]*$')
  if name and not online[name] and not seen[name] then
    seen[name] = true
    table.insert(gone, name)
  end
end
return gone
"""
)

# KEYS[1] presence set. The members alive now.
PRESENCE_LIST = (
    _NOW
    + """
return redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
"""
)

# KEYS[1] any expiring set; ARGV: ttl, key ttl, members... (re)added with a fresh expiry.
TOUCH = (
    _NOW
    + """
for i = 3, #ARGV do redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[i]) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return #ARGV - 2
"""
)

# KEYS[1] a user's sockets; ARGV: socket id, ttl, key ttl, limit. 1 if the socket may open.
SOCKET_ACQUIRE = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1])
   and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""
)

REDIS_ERRORS = (RedisError, OSError, TimeoutError)
# After a failure, Redis is tried again at most this often (seconds); meanwhile local state.
RETRY_AFTER = 1.0


def _presence_key(room_id: int) -> str:
    return f"chat:presence:{room_id}"


def _sockets_key(user_id: int) -> str:
    return f"chat:sockets:{user_id}"


def _rate_key(room_id: int, user_id: int) -> str:
    return f"chat:rate:{room_id}:{user_id}"


def _key_ttl(ttl: float) -> int:
    return math.ceil(ttl * 2) + 1


class SharedState:
    """Presence, rate limits and socket counts for one server process (one event loop)."""

    def __init__(self, *, url: str, process_id: str, ttl: float):
        """`url`: the shard addresses (educa/redis.py), "" for per-process state."""
        self.process_id = process_id
        self.ttl = ttl
        self.shards: Shards[aioredis.Redis] | None = None
        addresses = redis_addresses(url)
        if addresses:
            self.shards = Shards(
                [
                    async_client(
                        address,
                        sentinels=settings.REDIS_SENTINELS,
                        max_connections=200,
                        pool_timeout=2,
                        socket_connect_timeout=0.5,
                        socket_timeout=1,
                        health_check_interval=10,
                        retry=Retry(NoBackoff(), 1),
                        retry_on_error=[RedisConnectionError, RedisTimeoutError],
                    )
                    for address in addresses
                ]
            )
            # Scripts are sent by SHA to whichever shard holds the key (and loaded there once).
            self._scripts = {
                name: self.shards.clients[0].register_script(source)
                for name, source in {
                    "presence_add": PRESENCE_ADD,
                    "presence_remove": PRESENCE_REMOVE,
                    "presence_reap": PRESENCE_REAP,
                    "presence_list": PRESENCE_LIST,
                    "touch": TOUCH,
                    "socket_acquire": SOCKET_ACQUIRE,
                }.items()
            }
            self._rates = RedisWindows(*self.shards.clients)
        self._failed_at: float | None = None
        # This process's own share, which is also the whole truth while Redis is away.
        self.local_presence: dict[int, set[str]] = defaultdict(set)
        self.local_sockets: dict[int, set[str]] = defaultdict(set)
        self._local_rates = LocalWindows()

    @property
    def shared(self) -> bool:
        """True while the state really is shared (Redis configured and answering)."""
        return self.shards is not None and self._failed_at is None

    def _usable(self) -> bool:
        if self.shards is None:
            return False
        return self._failed_at is None or time.monotonic() - self._failed_at >= RETRY_AFTER

    def _failed(self, error: Exception) -> None:
        if self._failed_at is None:
            logger.warning("Chat state falls back to per-process (Redis: %s)", error)
        self._failed_at = time.monotonic()

    def _succeeded(self) -> bool:
        """Note a successful call; True if it ends an outage."""
        if self._failed_at is None:
            return False
        self._failed_at = None
        logger.warning("Chat state shared through Redis again")
        return True

    async def _call(self, name: str, key: str, args: list):
        """Run a script on the one key it touches, on that key's shard."""
        result = await self._scripts[name](keys=[key], args=args, client=self.shards.for_key(key))
        self._succeeded()
        return result

    def _touch_args(self) -> list:
        return [self.ttl, _key_ttl(self.ttl)]

    def _member(self, username: str) -> str:
        return f"{username}|{self.process_id}"

    async def close(self) -> None:
        if self.shards is not None:
            for client in self.shards.clients:
                with contextlib.suppress(*REDIS_ERRORS):
                    await async_client_close(client)

    # --- presence ---------------------------------------------------------------------------

    async def presence_add(self, *, room_id: int, username: str) -> bool:
        """Record that this process has the user in the room; True if they just came online."""
        self.local_presence[room_id].add(username)
        if self._usable():
            try:
                others = await self._call(
                    "presence_add",
                    _presence_key(room_id),
                    [self._member(username), self.ttl, _key_ttl(self.ttl), f"{username}|"],
                )
                return int(others) == 0
            except REDIS_ERRORS as error:
                self._failed(error)
        return True

    async def presence_remove(self, *, room_id: int, username: str) -> bool:
        """This process no longer has the user in the room; True if they left everywhere."""
        self.local_presence[room_id].discard(username)
        if not self.local_presence[room_id]:
            del self.local_presence[room_id]
        if self._usable():
            try:
                remaining = await self._call(
                    "presence_remove",
                    _presence_key(room_id),
                    [self._member(username), f"{username}|"],
                )
                return int(remaining) == 0
            except REDIS_ERRORS as error:
                self._failed(error)
        return True

    async def presence_list(self, *, room_id: int) -> list[str]:
        """Usernames online in the room, sorted; each person once."""
        names = set(self.local_presence.get(room_id, ()))
        if self._usable():
            try:
                members = await self._call("presence_list", _presence_key(room_id), [])
                names.update(
                    member.decode().rsplit("|", 1)[0] for member in members if b"|" in member
                )
            except REDIS_ERRORS as error:
                self._failed(error)
        return sorted(names)

    async def refresh(self) -> tuple[bool, dict[int, list[str]]]:
        """Renew this process's entries and reap those of dead processes.

        Returns (recovered, gone): whether this ends a Redis outage, and per room the users
        whose last entry expired (they have left).
        """
        if not self._usable():
            return False, {}
        was_down = self._failed_at is not None
        # One pipeline per shard, each script queued on the shard of its key.
        pipes: dict[int, Pipeline] = {}

        async def queue(name: str, key: str, args: list) -> tuple[int, int]:
            """Queue a script; returns its pipeline's key and the position of its answer."""
            client = self.shards.for_key(key)
            if id(client) not in pipes:
                pipes[id(client)] = client.pipeline(transaction=False)
            pipe = pipes[id(client)]
            position = len(pipe.command_stack)
            await self._scripts[name](keys=[key], args=args, client=pipe)
            return id(client), position

        try:
            for room_id, names in self.local_presence.items():
                members = [self._member(name) for name in names]
                await queue("touch", _presence_key(room_id), [*self._touch_args(), *members])
            for user_id, sockets in self.local_sockets.items():
                await queue("touch", _sockets_key(user_id), [*self._touch_args(), *sockets])
            reaps = [
                (room_id, await queue("presence_reap", _presence_key(room_id), []))
                for room_id in list(self.local_presence)
            ]
            answers = await asyncio.gather(*(pipe.execute() for pipe in pipes.values()))
        except REDIS_ERRORS as error:
            self._failed(error)
            return False, {}
        self._failed_at = None
        if was_down:
            logger.warning("Chat state shared through Redis again")
        results = dict(zip(pipes, answers, strict=True))
        gone = {}
        for room_id, (pipe_key, position) in reaps:
            names = results[pipe_key][position]
            if names:
                gone[room_id] = [name.decode() for name in names]
        return was_down, gone

    # --- sockets per user -------------------------------------------------------------------

    async def socket_acquire(self, *, user_id: int, socket_id: str, limit: int) -> bool:
        """Count a new socket of the user; False (and nothing counted) if over the limit."""
        if self._usable():
            try:
                allowed = await self._call(
                    "socket_acquire",
                    _sockets_key(user_id),
                    [socket_id, self.ttl, _key_ttl(self.ttl), limit],
                )
                if int(allowed):
                    self.local_sockets[user_id].add(socket_id)
                    return True
                return False
            except REDIS_ERRORS as error:
                self._failed(error)
        if len(self.local_sockets.get(user_id, ())) >= limit:
            return False
        self.local_sockets[user_id].add(socket_id)
        return True

    async def socket_release(self, *, user_id: int, socket_id: str) -> None:
        sockets = self.local_sockets.get(user_id)
        if sockets is not None:
            sockets.discard(socket_id)
            if not sockets:
                del self.local_sockets[user_id]
        if self._usable():
            try:
                key = _sockets_key(user_id)
                await self.shards.for_key(key).zrem(key, socket_id)
                self._succeeded()
            except REDIS_ERRORS as error:
                self._failed(error)

    # --- rate limit -------------------------------------------------------------------------

    async def rate_allow_many(self, senders: list[tuple[int, int]], *, rate: Rate) -> list[bool]:
        """Count one message per (room, user) pair, in order; False for each one over the rate.

        One round trip to each shard concerned for the lot (the message writer asks per batch).
        """
        keys = [_rate_key(room_id, user_id) for room_id, user_id in senders]
        if self._usable():
            try:
                waits = await self._rates.acquire_many_async(keys, rate)
                self._succeeded()
                return [not wait for wait in waits]
            except REDIS_ERRORS as error:
                self._failed(error)
        return [not wait for wait in self._local_rates.acquire_many(keys, rate)]

    async def rate_refund_many(self, senders: list[tuple[int, int]]) -> None:
        """Take back one counted message per (room, user) pair: the newest this process counted.

        For messages counted but not stored anew (resends, a failed batch); the writer calls it
        before it counts its next batch, so the newest is its own.
        """
        keys = [_rate_key(room_id, user_id) for room_id, user_id in senders]
        if self._usable():
            try:
                await self._rates.refund_many_async(keys)
                self._succeeded()
                return
            except REDIS_ERRORS as error:
                self._failed(error)
        self._local_rates.refund_many(keys)

    def forget_local_rates(self) -> None:
        """Drop per-process rate windows (they only matter during an outage)."""
        self._local_rates.clear()
