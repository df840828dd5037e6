"""manage.py enroll_reminder --days N [--dry-run]."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from students.models import EnrollmentReminder
from tests.factories import EnrollmentFactory, InstructorFactory, UserFactory

pytestmark = pytest.mark.django_db


def joined(days: int):
    return timezone.now() - timedelta(days=days)


def run(*args: str) -> str:
    output = StringIO()
    call_command("enroll_reminder", *args, stdout=output)
    return output.getvalue()


def test_user_enrolled_in_nothing_gets_one_reminder():
    user = UserFactory(date_joined=joined(10))
    output = run("--days", "7")
    assert [message.to for message in mail.outbox] == [[user.email]]
    assert mail.outbox[0].subject == "Your Educa courses are waiting"
    assert "Sent 1 enrollment reminder" in output


def test_reminder_is_sent_only_once():
    UserFactory(date_joined=joined(10))
    run("--days", "7")
    output = run("--days", "7")
    assert len(mail.outbox) == 1
    assert "Sent 0 enrollment reminder" in output


def test_recent_users_are_not_reminded_yet():
    UserFactory(date_joined=joined(3))
    run("--days", "7")
    assert mail.outbox == []


def test_enrolled_users_are_not_reminded():
    EnrollmentFactory(student=UserFactory(date_joined=joined(10)))
    run("--days", "7")
    assert mail.outbox == []


def test_users_without_an_email_address_are_skipped():
    UserFactory(date_joined=joined(10), email="")
    run("--days", "7")
    assert mail.outbox == []


def test_staff_and_superusers_are_never_reminded():
    UserFactory(date_joined=joined(10), is_staff=True)
    UserFactory(date_joined=joined(10), is_superuser=True)
    run("--days", "7")
    assert mail.outbox == []


def test_instructors_are_never_reminded():
    InstructorFactory(date_joined=joined(10))
    run("--days", "7")
    assert mail.outbox == []


def test_inactive_users_are_not_reminded():
    UserFactory(date_joined=joined(10), is_active=False)
    run("--days", "7")
    assert mail.outbox == []


def test_dry_run_sends_and_remembers_nothing():
    user = UserFactory(date_joined=joined(10))
    output = run("--days", "7", "--dry-run")
    assert mail.outbox == []
    assert not EnrollmentReminder.objects.exists()
    assert user.username in output
    assert "Would send 1 enrollment reminder" in output


def test_greeting_uses_the_name():
    UserFactory(date_joined=joined(10), first_name="Ada", last_name="Lovelace")
    run("--days", "7")
    assert mail.outbox[0].body.startswith("Hello Ada Lovelace,")


def test_greeting_falls_back_to_the_username():
    user = UserFactory(date_joined=joined(10), first_name="", last_name="")
    run("--days", "7")
    assert mail.outbox[0].body.startswith(f"Hello {user.username},")


def test_negative_days_are_refused():
    with pytest.raises(CommandError):
        run("--days", "-1")
