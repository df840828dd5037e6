"""Rates written as "<count>/<period>" (CHAT_RATE_LIMIT, CHAT_FRAME_BUDGET) and local limiters."""

import re
import time
from collections import deque
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*(ms|s|m|h)\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: float


def rate_parse(value: str) -> Rate:
    """`"20/10s"` is 20 events per 10 seconds; `"5/m"` is 5 per minute."""
    match = _RATE.match(value or "")
    if not match or int(match.group(1)) < 1:
        raise ImproperlyConfigured(f"A rate looks like '20/10s', not {value!r}.")
    amount = float(match.group(2) or 1)
    return Rate(count=int(match.group(1)), seconds=amount * _UNITS[match.group(3)])


class SlidingWindow:
    """At most `rate.count` events in any `rate.seconds`; the caller counts every attempt."""

    __slots__ = ("rate", "events")

    def __init__(self, rate: Rate):
        self.rate = rate
        self.events: deque[float] = deque(maxlen=rate.count)

    def allow(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if len(self.events) == self.rate.count and now - self.events[0] < self.rate.seconds:
            return False
        self.events.append(now)
        return True


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
