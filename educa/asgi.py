"""ASGI entry point: HTTP views and WebSocket consumers on one server (Daphne or Uvicorn).

WebSockets go through the chat's authentication (a session cookie behind the Origin check, or
an `Authorization: Token` header) to the routes of chat/routing.py.
"""

import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys

from django.core.asgi import get_asgi_application

from educa.draining import drain_begin, drain_started
from educa.settings import refusal_in_one_line

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "educa.settings.local")
# Django must be set up before the routing imports consumers and models.
with refusal_in_one_line():
    django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from chat.middleware import websocket_auth_stack  # noqa: E402
from chat.routing import websocket_urlpatterns  # noqa: E402
from chat.runtime.hub import hub_drain  # noqa: E402

logger = logging.getLogger(__name__)

SERVER_CLOSE_CODES = frozenset({1011, 1012, 1013})
# Young-generation allocations before a collection, then collections before an older one.
GC_THRESHOLDS = (50_000, 20, 100)


def _daphne_closes_with_a_code() -> None:
    """Make Daphne answer a failed WebSocket (a frame over --websocket-max-message-size) with a
    close frame, 1009 for a frame too big, instead of dropping TCP (a 1006 for the client).

    Daphne builds its autobahn factory after importing this module and offers no option for it.
    The rest of an oversized frame is discarded either way, and the close handshake has a
    timeout, so nothing more is buffered. Written against autobahn 26.11.1 and Daphne 4.2.3
    (Daphne's WebSocketFactory inherits setProtocolOptions and never passes failByDrop);
    tests/educa/test_third_party_patches.py fails when either changes that.
    """
    try:
        from autobahn.websocket.protocol import WebSocketServerFactory
    except ImportError:  # not running under Daphne's dependencies
        return
    original = WebSocketServerFactory.setProtocolOptions
    if getattr(original, "closes_with_a_code", False):
        return

    def set_protocol_options(self, *args, **kwargs):
        kwargs.setdefault("failByDrop", False)
        return original(self, *args, **kwargs)

    set_protocol_options.closes_with_a_code = True
    WebSocketServerFactory.setProtocolOptions = set_protocol_options


def _autobahn_logs_without_colours() -> None:
    """Stop autobahn colouring the arguments of its debug log calls with click.

    Autobahn builds those arguments for every frame it sends, logged or not, and with click
    installed (Uvicorn needs it) each frame costs four click.style calls: about a tenth of a
    busy chat server's time, for colours no log shows. Written against autobahn 26.11.1, whose
    `util.hl` reads the module flag `_HAS_CLICK` at each call; tests/educa/
    test_third_party_patches.py fails when it no longer does.
    """
    try:
        from autobahn import util
    except ImportError:
        return
    util._HAS_CLICK = False


def _daphne_closes_with_server_codes() -> None:
    """Let the application close a socket with 1011, 1012 or 1013 under Daphne.

    RFC 6455 and IANA give those codes to servers (internal error, service restart, try again
    later), but autobahn's `sendClose` admits only 1000 and 3000-4999, and Daphne's `serverClose`
    calls it: the close raised inside Daphne and the client saw 1006. `sendCloseFrame`, which
    `sendClose` ends in, sends any code. Written against Daphne 4.2.3 and autobahn 26.11.1;
    tests/educa/test_draining.py reads a 1012 from a real Daphne.
    """
    if "daphne.server" not in sys.modules:  # not running under Daphne (Uvicorn, tests)
        return
    from daphne.ws_protocol import WebSocketProtocol as protocol

    original = protocol.serverClose
    if getattr(original, "closes_with_server_codes", False):
        return

    def server_close(self, code=None):
        if code in SERVER_CLOSE_CODES:
            self.sendCloseFrame(code=code, isReply=False)
        else:
            original(self, code)

    server_close.closes_with_server_codes = True
    protocol.serverClose = server_close


def _daphne_drains_on_sigterm() -> None:
    """Replace Twisted's SIGTERM handler under Daphne with a drain, then Daphne's own stop.

    Twisted's handler stops the reactor at once: Daphne cancels every application and drops
    its sockets (1006 for the clients) with whatever they had sent still unstored. Daphne has
    no ASGI lifespan, and Twisted installs its handlers when the reactor starts (after this
    module is imported), so ours is installed just after them (`callWhenRunning`). A second
    SIGTERM stops at once. Written against Twisted 26.10 and Daphne 4.2.3;
    tests/educa/test_draining.py drives a real Daphne.
    """
    if "daphne.server" not in sys.modules:  # not running under Daphne (Uvicorn, tests)
        return
    from twisted.internet import reactor

    def install() -> None:
        loop = asyncio.get_event_loop()
        # The loop keeps only a weak reference to a task.
        drain_tasks = []

        def drain_start() -> None:
            if not drain_tasks:  # two signals in quick succession: one drain
                drain_tasks.append(loop.create_task(_drain_then_stop(reactor)))

        def on_sigterm(signum, frame):
            if drain_started():
                reactor.callFromThread(reactor.stop)
            else:
                loop.call_soon_threadsafe(drain_start)

        signal.signal(signal.SIGTERM, on_sigterm)

    reactor.callWhenRunning(install)


async def _drain_then_stop(reactor) -> None:
    drain_begin()
    logger.info("Draining: no new sockets; closing the open ones with 1012")
    try:
        async with asyncio.timeout(settings.CHAT_DRAIN_SECONDS):
            await hub_drain()
    except TimeoutError:
        logger.warning(
            "Drain not finished after %s s; stopping anyway", settings.CHAT_DRAIN_SECONDS
        )
    finally:
        from twisted.internet.error import ReactorNotRunning

        # A second SIGTERM may have stopped the reactor meanwhile.
        with contextlib.suppress(ReactorNotRunning):
            reactor.stop()


def _refused_while_draining(websocket_app):
    """A draining process refuses new WebSocket handshakes (an HTTP 403 under Daphne, its only
    refusal before accepting), so the balancer passes them to another server."""

    async def app(scope, receive, send):
        if drain_started():
            await receive()  # websocket.connect
            await send({"type": "websocket.close"})
            return
        await websocket_app(scope, receive, send)

    return app


_daphne_closes_with_a_code()
_autobahn_logs_without_colours()
_daphne_closes_with_server_codes()
_daphne_drains_on_sigterm()

# The event loop is busy while database work runs in threads: with Python's default 5 ms
# switch interval each query's reply waits up to 5 ms for the loop to give up the GIL, which
# makes a burst of chat messages wait on its own commit. 0.5 ms keeps queries flowing.
sys.setswitchinterval(float(os.environ.get("ASGI_GIL_SWITCH_INTERVAL", "0.0005")))

if settings.DEBUG:
    # `make run` serves with Daphne directly: like runserver, it serves /static/ itself when
    # debugging (in production Nginx does).
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    django_asgi_app = ASGIStaticFilesHandler(django_asgi_app)

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": _refused_while_draining(
            websocket_auth_stack(URLRouter(websocket_urlpatterns))
        ),
    }
)

# The objects of start-up (Django, the apps, their modules) live as long as the process: frozen,
# no collection walks them again. A busy room allocates quickly, and Python's default thresholds
# (700, 10, 10) make collections frequent pauses in the tail of chat latency; these keep them
# rare (bench/: the throughput scenario's p99 went from about 190 to about 90 ms).
gc.freeze()
gc.set_threshold(*GC_THRESHOLDS)
