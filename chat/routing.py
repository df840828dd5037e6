from django.urls import path, re_path

from .consumers import ChatConsumer, NotFoundConsumer

websocket_urlpatterns = [
    path("ws/chat/room/<int:course_id>/", ChatConsumer.as_asgi()),
    # Any other WebSocket path: closed with 4404 rather than an error in the server log.
    re_path(r"", NotFoundConsumer.as_asgi()),
]
