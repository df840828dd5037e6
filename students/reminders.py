"""The "pick a first course" reminder: who gets it, and sending it at most once per user."""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from educa.site import absolute_url, email_send

from .models import EnrollmentReminder, Profile

INSTRUCTORS_GROUP = "Instructors"


def user_list_for_enroll_reminder(*, days: int, now: datetime | None = None) -> QuerySet:
    """Active students with an e-mail address, joined at least `days` ago, enrolled in nothing,
    never reminded before; staff, superusers, instructors and course owners are left out."""
    joined_before = (now or timezone.now()) - timedelta(days=days)
    return (
        get_user_model()
        .objects.filter(
            is_active=True,
            is_staff=False,
            is_superuser=False,
            date_joined__lte=joined_before,
            enrollments__isnull=True,
            enrollment_reminder__isnull=True,
            courses_created__isnull=True,
        )
        .exclude(email="")
        .exclude(groups__name=INSTRUCTORS_GROUP)
        .distinct()
        .select_related("profile")
        .order_by("date_joined", "pk")
    )


def enroll_reminder_greeting(*, user) -> str:
    """`Hello Ada Lovelace,` with the user's name, or their username when they gave none."""
    name = user.get_full_name().strip() or user.username
    return _("Hello %(name)s,") % {"name": name}


def _saved_language(user) -> str:
    try:
        return user.profile.language or settings.LANGUAGE_CODE
    except Profile.DoesNotExist:
        return settings.LANGUAGE_CODE


def enroll_reminder_send(*, user) -> bool:
    """Sends the reminder unless this user already got it; True when it was sent now.

    The reminder row and the e-mail share a transaction: a failed send is not remembered, so the
    next run tries again, and two concurrent runs cannot both send (the row is unique per user).
    """
    with transaction.atomic():
        _reminder, created = EnrollmentReminder.objects.get_or_create(user=user)
        if not created:
            return False
        # Nobody's browser is asking: the language the user saved, else the site's.
        with translation.override(_saved_language(user)):
            _reminder_email_send(user=user)
    return True


def _reminder_email_send(*, user) -> None:
    email_send(
        template="students/email/enroll_reminder",
        context={
            "greeting": enroll_reminder_greeting(user=user),
            "catalogue_url": absolute_url(reverse("course_list")),
        },
        to=[user.email],
    )
