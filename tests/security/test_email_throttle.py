"""Registration and password-reset e-mails: throttled per e-mail address and per client address."""

import os
import subprocess
import sys

import pytest
import redis
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse

from deploy.processes import free_port
from students.services import EMAIL_THROTTLED
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CLIENT = "198.51.100.20"
OTHER_CLIENT = "203.0.113.30"
RESET = reverse("password_reset")
REGISTER = reverse("student_registration")


@pytest.fixture(autouse=True)
def limits(settings, redis_server):
    redis.Redis.from_url(redis_server.url).flushdb()
    settings.THROTTLE_REDIS_URL = redis_server.url
    settings.TRUSTED_PROXY_COUNT = 0
    settings.EMAIL_THROTTLE_PER_ADDRESS = "2/h"
    settings.EMAIL_THROTTLE_PER_CLIENT = "4/h"


def reset(email, address=CLIENT):
    return Client().post(RESET, {"email": email}, REMOTE_ADDR=address)


def register(n, address=CLIENT):
    password = "an-analytical-engine"
    data = {"username": f"ada{n}", "email": f"ada{n}@example.com"}
    data.update(password1=password, password2=password)
    return Client().post(REGISTER, data, REMOTE_ADDR=address)


# --- password reset -----------------------------------------------------------------------------


def test_password_reset_e_mails_to_one_address_are_throttled():
    UserFactory(email="ada@example.com")
    reset("ada@example.com", address=CLIENT)
    reset("ada@example.com", address=OTHER_CLIENT)

    response = reset("ada@example.com", address="192.0.2.1")

    assert response.status_code == 429
    assert str(EMAIL_THROTTLED) in response.content.decode()
    assert len(mail.outbox) == 2


def test_password_reset_e_mails_from_one_client_are_throttled():
    for n in range(4):
        UserFactory(email=f"user{n}@example.com")
        reset(f"user{n}@example.com")
    UserFactory(email="one-more@example.com")

    response = reset("one-more@example.com")

    assert response.status_code == 429
    assert len(mail.outbox) == 4


def test_another_client_may_still_ask_for_another_address():
    for n in range(4):
        reset(f"user{n}@example.com")
    UserFactory(email="ada@example.com")

    response = reset("ada@example.com", address=OTHER_CLIENT)

    assert response.status_code == 302
    assert len(mail.outbox) == 1


def test_unknown_addresses_are_throttled_alike_so_nothing_tells_them_apart():
    reset("nobody@example.com")
    reset("nobody@example.com", address=OTHER_CLIENT)

    response = reset("nobody@example.com", address="192.0.2.1")

    assert response.status_code == 429


def test_a_client_refused_for_its_own_rate_does_not_use_up_the_address():
    UserFactory(email="ada@example.com")
    for n in range(4):
        reset(f"user{n}@example.com")
    for _ in range(3):
        reset("ada@example.com")

    response = reset("ada@example.com", address=OTHER_CLIENT)

    assert response.status_code == 302
    assert len(mail.outbox) == 1


def test_the_counters_survive_a_cache_outage(settings):
    reset("ada@example.com")
    reset("ada@example.com")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}

    assert reset("ada@example.com").status_code == 429


def test_the_counters_survive_a_restart_of_the_application(redis_server):
    check = (
        "import django; django.setup(); from students.services import email_throttle_check; "
        "email_throttle_check(action='reset', email='ada@example.com', client_ip=None)"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "educa.settings.test",
        "REDIS_URL": redis_server.url,
        "EMAIL_THROTTLE_PER_ADDRESS": "1/h",
    }

    def run_in_a_new_process():
        command = [sys.executable, "-c", check]
        return subprocess.run(command, cwd=django_settings.BASE_DIR, env=env, capture_output=True)

    assert run_in_a_new_process().returncode == 0
    refused = run_in_a_new_process()
    assert refused.returncode != 0
    assert str(EMAIL_THROTTLED) in refused.stderr.decode()


def test_while_redis_is_down_each_process_still_throttles(settings):
    settings.THROTTLE_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    reset("ada@example.com")
    reset("ada@example.com", address=OTHER_CLIENT)

    response = reset("ada@example.com", address="192.0.2.1")

    assert response.status_code == 429


def test_no_e_mail_address_is_stored_in_the_counters(redis_server):
    reset("ada@example.com")

    keys = redis.Redis.from_url(redis_server.url).keys("*")
    assert keys
    assert not [key for key in keys if b"ada" in key]


# --- registration -------------------------------------------------------------------------------


def test_registrations_from_one_client_are_throttled():
    for n in range(4):
        assert register(n).status_code == 302

    response = register(4)

    assert response.status_code == 429
    assert str(EMAIL_THROTTLED) in response.content.decode()


def test_a_throttled_registration_creates_no_account():
    for n in range(5):
        register(n)

    assert not User.objects.filter(username="ada4").exists()


def test_registrations_from_another_client_still_work():
    for n in range(5):
        register(n)

    assert register(5, address=OTHER_CLIENT).status_code == 302
