"""ASGI entry point: HTTP views and WebSocket consumers on one server (Daphne or Uvicorn).

WebSockets go through the chat's authentication (a session cookie behind the Origin check, or
an `Authorization: Token` header) to the routes of chat/routing.py.
"""

import os
import sys

from django.core.asgi import get_asgi_application

from educa.settings import refusal_in_one_line

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "educa.settings.local")
# Django must be set up before the routing imports consumers and models.
with refusal_in_one_line():
    django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from chat.middleware import websocket_auth_stack  # noqa: E402
from chat.routing import websocket_urlpatterns  # noqa: E402


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


_daphne_closes_with_a_code()
_autobahn_logs_without_colours()

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
        "websocket": websocket_auth_stack(URLRouter(websocket_urlpatterns)),
    }
)
