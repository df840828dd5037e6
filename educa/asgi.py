"""ASGI entry point: HTTP views and WebSocket consumers on one server."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "educa.settings.local")
# Django must be set up before the routing imports consumers and models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from chat.middleware import websocket_auth_stack  # noqa: E402
from chat.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": websocket_auth_stack(URLRouter(websocket_urlpatterns)),
    }
)
