"""CSRF: every address of the site refuses a POST without a valid token.

Built from the URL configuration: a view added later is covered without editing this file.
Posting as a logged-in superuser instructor gets past every log-in and permission gate, so
only the CSRF check stands between the request and the view.
"""

import pytest
from django.test import Client

from .routes import route_urls

pytestmark = pytest.mark.django_db

# Routes allowed to take a POST without a token, each with the reason it is safe.
REVIEWED_EXEMPT: dict[str, str] = {
    "api/token/": (
        "reads no session and sets no cookie: it answers a token only to whoever sends the "
        "password, so a forged cross-site POST gains nothing (log-in CSRF needs a cookie)"
    ),
    "api/(?P<path>.*)": "the API's JSON 404 for unknown addresses: it changes nothing",
}


@pytest.fixture
def csrf_client(hostile_world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(hostile_world.owner)
    return client


def csrf_refusal(response) -> bool:
    return response.status_code == 403 and b"CSRF" in response.content


def refused_for_csrf(client, url, content_type) -> bool:
    """True if a POST without a token is refused, and refused for the missing token.

    A refusal page that does not say why (an HTML renderer's bare "403 Forbidden") is checked
    against the same POST with a valid token, which the superuser is never refused.
    """
    response = client.post(url, "{}", content_type=content_type)
    if response.status_code != 403:
        return False
    if b"CSRF" in response.content:
        return True
    client.get("/accounts/profile/")
    token = client.cookies["csrftoken"].value
    with_token = client.post(url, "{}", content_type=content_type, HTTP_X_CSRFTOKEN=token)
    return with_token.status_code != 403


def test_every_address_refuses_a_post_without_a_token(csrf_client, url_samples):
    accepted = []
    for route, url in route_urls(url_samples):
        if route.template in REVIEWED_EXEMPT:
            continue
        for content_type in ("application/x-www-form-urlencoded", "application/json"):
            if not refused_for_csrf(csrf_client, url, content_type):
                accepted.append((url, content_type))

    assert accepted == []


def test_every_reviewed_exemption_still_exists(url_samples):
    templates = {route.template for route, _ in route_urls(url_samples)}

    assert set(REVIEWED_EXEMPT) <= templates


def test_a_wrong_token_is_refused_too(csrf_client, url_samples):
    csrf_client.get("/accounts/profile/")  # sets the CSRF cookie
    refused = []
    for name in ("module_order", "content_order", "course_publish", "profile", "logout"):
        url = next(url for route, url in route_urls(url_samples) if route.name == name)
        response = csrf_client.post(
            url, "{}", content_type="application/json", HTTP_X_CSRFTOKEN="x" * 32
        )
        refused.append(csrf_refusal(response))

    assert all(refused)


def test_the_walk_covers_the_json_ordering_endpoints_and_the_admin(url_samples):
    names = {route.name for route, _ in route_urls(url_samples)}

    assert {"module_order", "content_order", "admin:login", "login"} <= names


def test_a_valid_token_gets_through(csrf_client, hostile_world):
    csrf_client.get("/accounts/profile/")
    token = csrf_client.cookies["csrftoken"].value
    module = hostile_world.module

    response = csrf_client.post(
        "/course/module/order/",
        f'{{"{module.pk}": 0}}',
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )

    assert response.status_code == 200
