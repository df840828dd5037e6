"""Guards for Educa's patches of third-party internals: each test fails when an upgrade changes
what a patch relies on (an attribute, a signature, a behaviour), so the patch is looked at again.

Written against autobahn 26.11.1, Daphne 4.2.3 and django-csp 4.0 (educa/asgi.py,
educa/middleware.py). The end-to-end effects have their own tests: the 1009 close on a real
Daphne (tests/chat/test_live_servers.py) and the CSP header on every page.
"""

import pytest
from autobahn import util
from autobahn.websocket.protocol import WebSocketServerFactory
from csp.constants import HEADER, HEADER_REPORT_ONLY, NONCE, SELF
from csp.decorators import csp, csp_exempt, csp_replace, csp_update
from csp.exceptions import CSPNonceError
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory

import educa.asgi  # noqa: F401 - applies the autobahn patches
from educa.middleware import CSPMiddleware

# --- autobahn, under Daphne (educa/asgi.py) ----------------------------------------------------


def test_an_autobahn_factory_set_up_without_options_closes_failed_sockets_with_a_code():
    factory = WebSocketServerFactory()
    factory.setProtocolOptions(maxMessagePayloadSize=65536)
    assert factory.failByDrop is False


def test_daphnes_websocket_factory_takes_its_options_through_autobahns_patched_method():
    from daphne.ws_protocol import WebSocketFactory

    assert issubclass(WebSocketFactory, WebSocketServerFactory)
    assert "setProtocolOptions" not in vars(WebSocketFactory)


def test_autobahn_colours_its_log_arguments_only_through_the_flag_the_entry_point_clears(
    monkeypatch,
):
    # raising=True: the flag must already exist for the entry point's patch to mean anything.
    monkeypatch.setattr(util, "_HAS_CLICK", True, raising=True)
    assert util.hl("frame") != "frame"


# --- django-csp (educa/middleware.py) ------------------------------------------------------


def headers_of(middleware_class, view, request=None) -> dict:
    response = middleware_class(view)(request or RequestFactory().get("/"))
    return {name: response.get(name) for name in (HEADER, HEADER_REPORT_ONLY)}


def test_the_site_policy_header_is_the_one_django_csps_middleware_writes():
    def view(request):
        return HttpResponse()

    assert headers_of(CSPMiddleware, view) == headers_of(DjangoCSPMiddleware, view)


@pytest.mark.parametrize(
    "decorator",
    [
        csp({"default-src": [SELF]}),
        csp({"default-src": [SELF]}, REPORT_ONLY=True),
        csp_update({"img-src": ["https://images.example"]}),
        csp_replace({"img-src": ["https://images.example"]}),
        csp_exempt(),
        csp_exempt(REPORT_ONLY=True),
    ],
)
def test_a_view_marked_by_a_django_csp_decorator_gets_django_csps_own_headers(decorator):
    @decorator
    def view(request):
        return HttpResponse()

    assert headers_of(CSPMiddleware, view) == headers_of(DjangoCSPMiddleware, view)


def test_a_view_that_used_a_nonce_gets_it_in_the_header(settings):
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"script-src": [SELF, NONCE]}}
    request = RequestFactory().get("/")

    def view(request):
        return HttpResponse(str(request.csp_nonce))

    middleware = CSPMiddleware(view)
    response = middleware(request)
    assert f"'nonce-{response.content.decode()}'" in response[HEADER]


def test_a_nonce_asked_for_after_the_header_is_written_is_django_csps_error():
    request = RequestFactory().get("/")
    CSPMiddleware(lambda request: HttpResponse())(request)
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)
