"""WebSocket authentication: a session cookie behind the Origin check, or a token header.

Browsers send cookies with any cross-site WebSocket, so a cookie-authenticated handshake must
come from an allowed Origin (else HTTP 403). Browsers cannot set an Authorization header on a
WebSocket, so a handshake carrying one is not a cross-site browser request: it needs no Origin,
and its cookies are ignored. A token in the query string is never read (it would end up in
access logs).
"""

from urllib.parse import urlparse

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator, OriginValidator
from django.contrib.auth.models import AnonymousUser

from .selectors import user_get_for_token

TOKEN_SCHEME = "token"  # noqa: S105 - the scheme name, not a secret


def _header(scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value
    return None


def token_from_authorization(value: bytes) -> str | None:
    """The key of an `Authorization: Token <key>` header, or None if it is anything else."""
    try:
        parts = value.decode("latin-1").split()
    except UnicodeDecodeError:
        return None
    if len(parts) != 2 or parts[0].lower() != TOKEN_SCHEME or len(parts[1]) > 64:
        return None
    return parts[1]


class AllowedHostsOriginCheck(OriginValidator):
    """Channels' AllowedHostsOriginValidator with a refusal that holds no channel-layer receive.

    Channels refuses through a consumer that listens on the channel layer, and cancelling a
    channels-redis receive can hang until its blocking read times out: every refused handshake
    would hold a Redis connection for seconds. This refusal only answers the handshake (HTTP 403).
    """

    def __init__(self, application):
        validator = AllowedHostsOriginValidator(application)
        super().__init__(application, validator.allowed_origins)

    async def __call__(self, scope, receive, send):
        origin = _header(scope, b"origin")
        try:
            parsed = urlparse(origin.decode("latin-1")) if origin is not None else None
        except ValueError:
            parsed = None
        if self.valid_origin(parsed):
            return await self.application(scope, receive, send)
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.close"})


class TokenOrCookieAuthMiddleware:
    """Sets scope["user"] (and scope["chat_token"] for token sockets) for the inner app."""

    def __init__(self, inner):
        self.inner = inner
        self.cookie_app = AllowedHostsOriginCheck(AuthMiddlewareStack(inner))

    async def __call__(self, scope, receive, send):
        authorization = _header(scope, b"authorization")
        if authorization is None:
            return await self.cookie_app(scope, receive, send)
        key = token_from_authorization(authorization)
        user = None
        if key is not None:
            user = await database_sync_to_async(user_get_for_token)(key=key)
        scope = {
            **scope,
            "user": user or AnonymousUser(),
            "chat_token": key if user is not None else None,
        }
        return await self.inner(scope, receive, send)


def websocket_auth_stack(inner):
    """Token-header or session-cookie authentication; the Origin check for cookies only."""
    return TokenOrCookieAuthMiddleware(inner)
