"""Registration and password-reset e-mails: throttled per e-mail address and per client address."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse

from chat.limits import Rate
from students.models import ThrottleWindow
from students.services import EMAIL_THROTTLED, throttle_hit
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CLIENT = "198.51.100.20"
OTHER_CLIENT = "203.0.113.30"
RESET = reverse("password_reset")
REGISTER = reverse("student_registration")


@pytest.fixture(autouse=True)
def limits(settings):
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


# --- the counter --------------------------------------------------------------------------------


def test_a_window_holds_as_many_attempts_as_the_rate_allows():
    rate = Rate(count=2, seconds=60)

    answers = [throttle_hit(key="k", rate=rate) for _ in range(3)]

    assert answers == [True, True, False]


def test_a_refused_attempt_is_not_counted():
    rate = Rate(count=2, seconds=60)
    for _ in range(5):
        throttle_hit(key="k", rate=rate)

    assert ThrottleWindow.objects.get(key="k").count == 2


def test_a_new_window_opens_when_the_old_one_ends():
    rate = Rate(count=1, seconds=60)
    throttle_hit(key="k", rate=rate)
    window = ThrottleWindow.objects.get(key="k")
    ThrottleWindow.objects.filter(pk=window.pk).update(ends=window.started - timedelta(seconds=1))

    assert throttle_hit(key="k", rate=rate) is True


def test_keys_are_counted_apart():
    rate = Rate(count=1, seconds=60)
    throttle_hit(key="a", rate=rate)

    assert throttle_hit(key="b", rate=rate) is True


# --- password reset -----------------------------------------------------------------------------


def test_password_reset_e_mails_to_one_address_are_throttled():
    UserFactory(email="ada@example.com")
    reset("ada@example.com", address=CLIENT)
    reset("ada@example.com", address=OTHER_CLIENT)

    response = reset("ada@example.com", address="192.0.2.1")

    assert response.status_code == 429
    assert EMAIL_THROTTLED in response.content.decode()
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


def test_no_e_mail_address_is_stored_in_the_counters():
    reset("ada@example.com")

    assert not ThrottleWindow.objects.filter(key__contains="ada").exists()


# --- registration -------------------------------------------------------------------------------


def test_registrations_from_one_client_are_throttled():
    for n in range(4):
        assert register(n).status_code == 302

    response = register(4)

    assert response.status_code == 429
    assert EMAIL_THROTTLED in response.content.decode()


def test_a_throttled_registration_creates_no_account():
    for n in range(5):
        register(n)

    assert not User.objects.filter(username="ada4").exists()


def test_registrations_from_another_client_still_work():
    for n in range(5):
        register(n)

    assert register(5, address=OTHER_CLIENT).status_code == 302
