"""Cache-Control of pages for logged-in users: private, and never stored for account pages."""

import pytest
from rest_framework.authtoken.models import Token

from tests.factories import CourseFactory, UserFactory

pytestmark = pytest.mark.django_db


def directives(response) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part}


@pytest.fixture
def member(client):
    user = UserFactory()
    client.force_login(user)
    return user


def test_a_logged_in_page_is_private(client, member):
    response = client.get("/students/courses/")

    assert response.status_code == 200
    assert "private" in directives(response)
    assert "no-store" not in directives(response)


def test_a_public_page_seen_logged_in_is_private(client, member):
    course = CourseFactory()

    response = client.get(course.get_absolute_url())

    assert response.status_code == 200
    assert "private" in directives(response)


@pytest.mark.parametrize(
    "path", ["/accounts/profile/", "/accounts/password-change/", "/accounts/profile/delete/"]
)
def test_an_account_page_is_never_stored(client, member, path):
    response = client.get(path)

    assert response.status_code == 200
    assert {"private", "no-store"} <= directives(response)


def test_an_api_answer_to_a_token_is_private(client):
    token = Token.objects.create(user=UserFactory())

    response = client.get("/api/me/courses/", HTTP_AUTHORIZATION=f"Token {token.key}")

    assert response.status_code == 200
    assert "private" in directives(response)


def test_an_anonymous_page_gets_no_cache_control_cached_or_not(client):
    course = CourseFactory()

    first, cached = client.get(course.get_absolute_url()), client.get(course.get_absolute_url())

    assert (first["X-Cache"], cached["X-Cache"]) == ("miss", "hit")
    assert "Cache-Control" not in first
    assert "Cache-Control" not in cached
