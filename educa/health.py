"""Liveness and readiness endpoints for load balancers and container health checks.

`/healthz` says the process serves requests; `/readyz` also checks the database, the cache and
the channel layer, and answers 503 naming whichever of them failed, or at once while the process
drains before stopping (educa/draining.py).
"""

import asyncio
import logging
import uuid

from asgiref.sync import async_to_sync
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from educa.draining import drain_started

logger = logging.getLogger(__name__)

CHANNEL_LAYER_TIMEOUT = 2.0


def database_check() -> None:
    """Raises unless a query round-trips to the default database."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        # A persistent connection broken by a restart must not be reused by the next request.
        connection.close()
        raise


def cache_check() -> None:
    """Raises unless a value written to the default cache can be read back.

    The Memcached backend is configured to swallow errors (`ignore_exc`), so a dead server shows
    up as a missing value rather than an exception. A client of its own, like the channel layer
    check: a pooled socket left stale by a Memcached restart would fail once and say nothing
    about the server as it is now.
    """
    cache = caches.create_connection(DEFAULT_CACHE_ALIAS)
    key = f"readyz:{uuid.uuid4().hex}"
    try:
        cache.set(key, "ok", timeout=10)
        found = cache.get(key)
        cache.delete(key)
    finally:
        cache.close()
    if found != "ok":
        raise ConnectionError("the cache did not return the value just written")


async def _channel_layer_round_trip() -> None:
    # A layer of its own: the shared one may be receiving on another event loop (uWSGI threads
    # each get their own loop from async_to_sync), which channels-redis refuses.
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    try:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "readyz.ping"})
        message = await layer.receive(channel)
    finally:
        if hasattr(layer, "close_pools"):
            await layer.close_pools()
    if message.get("type") != "readyz.ping":
        raise ConnectionError("the channel layer returned another message")


def channel_layer_check() -> None:
    """Raises unless a message sent through the channel layer comes back."""
    async_to_sync(asyncio.wait_for)(_channel_layer_round_trip(), CHANNEL_LAYER_TIMEOUT)


CHECKS = {
    "database": database_check,
    "cache": cache_check,
    "channel_layer": channel_layer_check,
}


@never_cache
@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    if drain_started():
        # Checked first: the balancer must stop sending sockets here whatever the backends say.
        return JsonResponse({"status": "draining", "failing": ["draining"]}, status=503)
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as error:
            logger.warning("readiness check %s failed: %r", name, error)
            results[name] = "unavailable"
        else:
            results[name] = "ok"
    failing = [name for name, result in results.items() if result != "ok"]
    if failing:
        return JsonResponse(
            {"status": "unavailable", "failing": failing, "checks": results}, status=503
        )
    return JsonResponse({"status": "ok", "checks": results})
