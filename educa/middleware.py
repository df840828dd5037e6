"""Educa's own middleware.

- CourseSubdomainMiddleware: `<course-slug>.<PARENT_HOST>` redirects to the course page on
  PARENT_HOST.
- PrivateCacheControlMiddleware: `Cache-Control: private` for logged-in users, `no-store` on
  account pages.
- CSPMiddleware: django-csp's Content-Security-Policy header, built once per process.
"""

import ipaddress

from csp.constants import HEADER as CSP_HEADER
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponseRedirect
from django.http.request import split_domain_port
from django.utils.cache import patch_cache_control

from courses.selectors import course_get_for_viewer

NOT_COURSE_SUBDOMAINS = frozenset({"www"})
# Pages of a person's account (its e-mail, its password, its deletion): kept by no cache at all,
# not even the browser's, so that the back button on a shared computer shows nothing.
ACCOUNT_PAGES = frozenset({"profile", "password_change", "password_change_done", "account_delete"})


def course_slug_from_host(*, host: str, parent_host: str) -> str | None:
    """The course slug that `host` names under `parent_host`, or None for any other host.

    IP addresses, `localhost`, `www.` and hosts outside the parent host are never course slugs.
    """
    domain, _port = split_domain_port(host.lower())
    parent_host = parent_host.lower().strip(".")
    if not domain or not parent_host or domain == "localhost":
        return None
    try:
        ipaddress.ip_address(domain.strip("[]"))
    except ValueError:
        pass
    else:
        return None
    suffix = f".{parent_host}"
    if not domain.endswith(suffix):
        return None
    label = domain.removesuffix(suffix)
    # A slug is one DNS label; deeper names (a.b.parent) are someone else's.
    if not label or "." in label or label in NOT_COURSE_SUBDOMAINS:
        return None
    return label


class CourseSubdomainMiddleware:
    """Redirects a course subdomain to the course page; a no-op while PARENT_HOST is empty."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        parent_host = getattr(settings, "PARENT_HOST", "")
        if not parent_host:
            return self.get_response(request)
        raw_host = request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME", "")
        slug = course_slug_from_host(host=raw_host, parent_host=parent_host)
        if slug is None:
            return self.get_response(request)
        # Host validation (ALLOWED_HOSTS) still applies before anything is looked up.
        _domain, port = split_domain_port(request.get_host())
        # Nobody is logged in at a subdomain (the session cookie belongs to the parent host).
        course = course_get_for_viewer(user=AnonymousUser(), slug=slug)
        authority = f"{parent_host}:{port}" if port else parent_host
        return HttpResponseRedirect(f"{request.scheme}://{authority}{course.get_absolute_url()}")


class PrivateCacheControlMiddleware:
    """`Cache-Control: private` on every response to a logged-in user, `no-store` too on account
    pages: `Vary: Cookie` alone lets a shared cache keep a page it cannot tell apart by cookie.

    Responses to anonymous visitors are left as they are. Precondition: it sits above
    SessionMiddleware, so reading the user here never adds `Vary: Cookie` to them.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # Absent when an earlier middleware answered (a cached anonymous page).
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return response
        match = request.resolver_match
        if match is not None and match.url_name in ACCOUNT_PAGES:
            patch_cache_control(response, private=True, no_store=True)
        else:
            patch_cache_control(response, private=True)
        return response


# Attributes django-csp's decorators set on a response that wants a policy of its own.
_CSP_PER_RESPONSE = tuple(
    f"_csp_{kind}{suffix}"
    for kind in ("exempt", "config", "update", "replace")
    for suffix in ("", "_ro")
)


class CSPMiddleware(DjangoCSPMiddleware):
    """django-csp's middleware with the site's policy built once per process, not per response.

    A response with a policy of its own (django-csp's decorators), a request that used a nonce,
    and any configuration beyond CONTENT_SECURITY_POLICY's directives go through django-csp.
    Written against django-csp 4.0: it relies on the response attributes its decorators set, the
    request's `_csp_nonce`, `build_policy()` and `_csp_nonce_post_response`;
    tests/educa/test_third_party_patches.py fails when an upgrade changes any of them.
    """

    _built = (None, "")

    def process_response(self, request, response):
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", None)
        if (
            settings.DEBUG
            or not policy
            or set(policy) != {"DIRECTIVES"}
            or getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
            or getattr(request, "_csp_nonce", None) is not None
            or any(hasattr(response, name) for name in _CSP_PER_RESPONSE)
        ):
            return super().process_response(request, response)
        if CSP_HEADER not in response:
            response[CSP_HEADER] = self._policy(policy)
        # As django-csp does: a nonce asked for after the header is written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response

    @classmethod
    def _policy(cls, policy: dict) -> str:
        built_from, header = cls._built
        if built_from is not policy:
            # Settings are replaced, not mutated, when they change (override_settings in tests).
            header = build_policy()
            cls._built = (policy, header)
        return header
