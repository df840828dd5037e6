"""Every e-mail: absolute links built from SITE_URL, and an HTML part beside the plain text."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from educa.site import site_url
from students import services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SITE = "https://educa.example:8443"


@pytest.fixture(autouse=True)
def configured_site(settings):
    settings.SITE_URL = SITE


def send_reminder():
    UserFactory(email="ada@example.com", date_joined=timezone.now() - timedelta(days=10))
    call_command("enroll_reminder", "--days", "7", stdout=open("/dev/null", "w"))  # noqa: SIM115


def send_activation():
    services.user_register(username="ada", email="ada@example.com", password="a-long-pass-phrase")


def send_account_exists():
    UserFactory(email="ada@example.com")
    send_activation()


def send_password_reset(client):
    UserFactory(email="ada@example.com")
    client.post(reverse("password_reset"), {"email": "ada@example.com"})


SENDERS = {
    "enrollment reminder": lambda client: send_reminder(),
    "activation": lambda client: send_activation(),
    "account exists": lambda client: send_account_exists(),
    "password reset": send_password_reset,
}


def sent(client, kind, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        SENDERS[kind](client)
    [message] = mail.outbox
    return message


@pytest.mark.parametrize("kind", SENDERS)
def test_every_link_of_the_plain_text_starts_with_the_site_url(
    client, kind, django_capture_on_commit_callbacks
):
    message = sent(client, kind, django_capture_on_commit_callbacks)

    links = re.findall(r"(?:https?://|/)\S*", message.body)
    assert links
    assert all(link.startswith(SITE + "/") for link in links if "@" not in link), links


@pytest.mark.parametrize("kind", SENDERS)
def test_every_email_has_an_html_part_whose_links_are_absolute(
    client, kind, django_capture_on_commit_callbacks
):
    message = sent(client, kind, django_capture_on_commit_callbacks)

    [(html, mimetype)] = message.alternatives
    links = re.findall(r'href="([^"]*)"', html)
    assert mimetype == "text/html"
    assert "<html" in html and "Educa" in html
    assert len(links) >= 2
    assert all(link.startswith(SITE + "/") for link in links), links


def test_the_site_url_defaults_to_the_first_allowed_host(settings):
    settings.SITE_URL = ""
    settings.ALLOWED_HOSTS = [".educa.example", "localhost"]
    settings.SECURE_SSL_REDIRECT = True

    assert site_url() == "https://educa.example"
