"""Sessions: a new key at every log-in (no session fixation), none left after log-out."""

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import reverse

from students.activation import activation_path
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"  # tests.factories.UserFactory's


def planted_session_key(client) -> str:
    """A session the client holds before logging in (as one an attacker could plant)."""
    session = client.session
    session["visited"] = True
    session.save()
    return session.session_key


def session_key(client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def test_logging_in_rotates_the_session_key(client):
    user = UserFactory()
    before = planted_session_key(client)

    client.post(reverse("login"), {"username": user.username, "password": PASSWORD})

    assert session_key(client) != before
    assert not Session.objects.filter(session_key=before).exists()


def test_logging_in_to_the_admin_rotates_the_session_key(client):
    user = UserFactory(is_staff=True)
    before = planted_session_key(client)

    client.post(reverse("admin:login"), {"username": user.username, "password": PASSWORD})

    assert session_key(client) != before
    assert not Session.objects.filter(session_key=before).exists()


def test_confirming_a_registration_rotates_the_session_key(client):
    user = UserFactory(is_active=False)
    before = planted_session_key(client)

    client.post(activation_path(user=user))

    assert session_key(client) != before
    assert not Session.objects.filter(session_key=before).exists()


def test_the_session_key_from_before_the_log_in_is_not_logged_in(client):
    user = UserFactory()
    before = planted_session_key(client)
    client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    client.cookies[settings.SESSION_COOKIE_NAME] = before

    response = client.get(reverse("profile"))

    assert response.status_code == 302


def test_logging_out_ends_the_session_on_the_server(client):
    user = UserFactory()
    client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    logged_in_key = session_key(client)

    client.post(reverse("logout"))

    assert not Session.objects.filter(session_key=logged_in_key).exists()
