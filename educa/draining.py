"""A server process's drain before it stops: unready, no new sockets, then its sockets closed.

Set once, on SIGTERM (educa/asgi.py), and never cleared: the process exits afterwards. Read by
/readyz (educa/health.py) and by the WebSocket handshake (educa/asgi.py).
"""

import threading

_draining = threading.Event()


def drain_begin() -> None:
    _draining.set()


def drain_started() -> bool:
    return _draining.is_set()
