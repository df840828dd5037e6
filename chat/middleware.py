"""WebSocket authentication: a session cookie behind the Origin check, or a token header.

Browsers send cookies with any cross-site WebSocket, so a cookie-authenticated handshake must
come from an Origin that Django's CSRF check would trust (else HTTP 403): the handshake's own
origin (scheme, Host and port) or one of CSRF_TRUSTED_ORIGINS. Browsers cannot set an
Authorization header on a WebSocket, so a handshake carrying one is not a cross-site browser
request: it needs no Origin, and its cookies are ignored. A handshake with no credential at all
(no Authorization header, no session cookie, no Origin) is no browser's either: it is let through
as anonymous, so it is accepted and closed with 4401 like any other unauthenticated socket. A
token in the query string is never read (it would end up in access logs).
"""

from urllib.parse import urlsplit

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest
from django.http.cookie import parse_cookie
from django.utils.http import is_same_domain

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


class HandshakeRequest(HttpRequest):
    """A WebSocket handshake as Django sees a request: its headers, Host and scheme.

    The scheme is the server's (wss or ws) unless SECURE_PROXY_SSL_HEADER names a header that
    the proxy in front sets, exactly as for HTTP requests.
    """

    def __init__(self, scope):
        super().__init__()
        self._transport_scheme = "https" if scope.get("scheme") == "wss" else "http"
        self.META = {"SERVER_NAME": "", "SERVER_PORT": ""}
        for name, value in scope.get("headers", ()):
            name = name.decode("latin-1").upper()
            # As WSGI servers do: `X_Forwarded_Proto` must not pass for `X-Forwarded-Proto`.
            if "_" in name:
                continue
            key = "HTTP_" + name.replace("-", "_")
            value = value.decode("latin-1")
            self.META[key] = f"{self.META[key]},{value}" if key in self.META else value

    def _get_scheme(self):
        return self._transport_scheme


def origin_is_trusted(request: HttpRequest, origin: str) -> bool:
    """Whether Django's CSRF check would trust `origin` for `request` (as its Origin check does:
    the request's own scheme://host[:port], or a CSRF_TRUSTED_ORIGINS entry, `*.` wildcards
    included)."""
    try:
        own_origin = f"{request.scheme}://{request.get_host()}"
    except DisallowedHost:
        own_origin = None
    if origin == own_origin:
        return True
    trusted = settings.CSRF_TRUSTED_ORIGINS
    if origin in trusted:
        return True
    try:
        parsed = urlsplit(origin)
    except ValueError:
        return False
    return any(
        is_same_domain(parsed.netloc, pattern.netloc.lstrip("*"))
        for pattern in (urlsplit(entry) for entry in trusted if "*" in entry)
        if pattern.scheme == parsed.scheme
    )


class TrustedOriginCheck:
    """Lets a handshake reach `application` only from a trusted Origin; refuses it otherwise.

    Channels refuses through a consumer that listens on the channel layer, and cancelling a
    channels-redis receive can hang until its blocking read times out: every refused handshake
    would hold a Redis connection for seconds. This refusal only answers the handshake (HTTP 403).
    """

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        origin = _header(scope, b"origin")
        if origin is not None and origin_is_trusted(
            HandshakeRequest(scope), origin.decode("latin-1")
        ):
            return await self.application(scope, receive, send)
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.close"})


def has_no_credential(scope) -> bool:
    """No Authorization header, no session cookie and no Origin: nothing to authenticate."""
    if _header(scope, b"authorization") is not None or _header(scope, b"origin") is not None:
        return False
    cookie = _header(scope, b"cookie")
    return cookie is None or settings.SESSION_COOKIE_NAME not in parse_cookie(
        cookie.decode("latin-1")
    )


class TokenOrCookieAuthMiddleware:
    """Sets scope["user"] (and scope["chat_token"] for token sockets) for the inner app."""

    def __init__(self, inner):
        self.inner = inner
        self.cookie_app = TrustedOriginCheck(AuthMiddlewareStack(inner))

    async def __call__(self, scope, receive, send):
        if has_no_credential(scope):
            return await self.inner({**scope, "user": AnonymousUser()}, receive, send)
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
