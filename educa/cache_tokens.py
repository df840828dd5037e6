"""Tokens in the cache that change whenever what they stand for changes: part of the cache keys
of whatever shows it, so that a change makes those entries stale without finding them."""

import uuid

from django.core.cache import cache


def cache_token(key: str) -> str:
    """The token under `key`, made when missing.

    A random token rather than a counter: after a cache restart the new token cannot name an
    entry built before it. With the cache down it is "" (nothing is cached then anyway).
    """
    token = cache.get(key)
    if token is None:
        cache.add(key, uuid.uuid4().hex, None)
        token = cache.get(key) or ""
    return token


def cache_token_bump(key: str) -> None:
    """A new token: everything cached under the old one is stale."""
    cache.set(key, uuid.uuid4().hex, None)
