"""The language the site speaks: a logged-in user's saved choice wins over the browser's.

LocaleMiddleware picks the language cookie, else Accept-Language. A user's saved language
(students.Profile) is copied into the session at log-in, so applying it costs no query: the
session is read anyway for a logged-in user. The cookie is set to it too, which the chat's
WebSocket (no middleware of Django's) and the page after log-out follow.
"""

from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation.trans_real import parse_accept_lang_header

from .selectors import profile_language_for_user

SESSION_LANGUAGE_KEY = "educa_language"


def language_supported(code: str) -> str | None:
    """`code` if it is one of LANGUAGES, else None."""
    return code if code in dict(settings.LANGUAGES) else None


def language_cookie_set(response, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


def session_language_remember(*, request, user, **kwargs) -> None:
    """user_logged_in receiver: the user's saved language applies from this log-in on."""
    language = profile_language_for_user(user=user)
    if language:
        request.session[SESSION_LANGUAGE_KEY] = language


class UserLanguageMiddleware:
    """After LocaleMiddleware: activates the logged-in user's saved language, keeps the language
    cookie equal to it, and marks every response as varying by language and cookie."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        saved = None
        # Without a session cookie there is no saved language; reading the session then would
        # only add `Vary: Cookie` through the session (it is added below anyway).
        if request.COOKIES.get(settings.SESSION_COOKIE_NAME):
            saved = language_supported(request.session.get(SESSION_LANGUAGE_KEY) or "")
        if saved:
            translation.activate(saved)
            request.LANGUAGE_CODE = saved
        response = self.get_response(request)
        if saved and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != saved:
            language_cookie_set(response, saved)
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        return response


def language_for_scope(scope) -> str:
    """The language of a WebSocket handshake: the language cookie, else Accept-Language."""
    cookie = (scope.get("cookies") or {}).get(settings.LANGUAGE_COOKIE_NAME, "")
    if language_supported(cookie):
        return cookie
    for name, value in scope.get("headers", ()):
        if name == b"accept-language":
            for code, _quality in parse_accept_lang_header(value.decode("latin-1")):
                try:
                    return translation.get_supported_language_variant(code)
                except LookupError:
                    continue
    return translation.get_supported_language_variant(settings.LANGUAGE_CODE)
