"""E-mails about chat mentions left unread: who gets one, and sending each at most once.

A mention still unread CHAT_MENTION_EMAIL_DELAY seconds after its message was stored is
e-mailed to the member named, one e-mail per member and room at most every hour, never for a
message deleted meanwhile, never to a member who turned these e-mails off. `Mention.emailed_at`
records what was sent, so running the sender again (or two senders at once) sends nothing twice.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from educa.site import absolute_url, email_send
from students.email_preferences import mention_emails_off_token
from students.selectors import course_membership_refusal

from .models import Mention

# The least time between two mention e-mails about one room to one member.
EMAIL_INTERVAL = timedelta(hours=1)
# The most mentions one e-mail quotes (it says how many more there are).
QUOTED_MAX = 10
QUOTE_CHARACTERS = 300


@dataclass(frozen=True)
class Quote:
    author: str
    text: str
    datetime: datetime


def _due(*, now: datetime):
    """Mentions that an e-mail should announce now, if their member and room allow it."""
    return (
        Mention.objects.filter(
            read_at__isnull=True,
            emailed_at__isnull=True,
            message__deleted_at__isnull=True,
            message__created__lte=now - timedelta(seconds=settings.CHAT_MENTION_EMAIL_DELAY),
            user__is_active=True,
        )
        .exclude(user__email="")
        .exclude(user__profile__mention_emails=False)
    )


def mention_email_recipients(*, now: datetime | None = None) -> list[tuple[int, int]]:
    """(user id, room id) of every member with mentions due for an e-mail, in id order."""
    pairs = _due(now=now or timezone.now()).values_list("user_id", "message__room_id")
    return sorted(set(pairs))


def mention_email_send(*, user_id: int, room_id: int, now: datetime | None = None) -> bool:
    """E-mail the member about their due mentions in the room; True when an e-mail went out.

    The member's row is locked while deciding, so two senders cannot both send; the mentions
    are marked e-mailed in the same transaction as the sending, so a failed send is tried
    again by the next run.
    """
    now = now or timezone.now()
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().filter(pk=user_id).first()
        if user is None:
            return False
        in_room = Mention.objects.filter(user=user, message__room_id=room_id)
        if in_room.filter(emailed_at__gt=now - EMAIL_INTERVAL).exists():
            return False
        mentions = list(
            _due(now=now)
            .filter(user=user, message__room_id=room_id)
            .select_related("message__user", "message__room__course")
            .order_by("message__seq")
        )
        if not mentions:
            return False
        course = mentions[0].message.room.course
        if course_membership_refusal(user=user, course=course) is not None:
            return False
        _send(user=user, course=course, mentions=mentions)
        Mention.objects.filter(pk__in=[mention.pk for mention in mentions]).update(emailed_at=now)
    return True


def mention_emails_send(*, now: datetime | None = None) -> int:
    """Send every mention e-mail that is due; how many were sent."""
    now = now or timezone.now()
    return sum(
        mention_email_send(user_id=user_id, room_id=room_id, now=now)
        for user_id, room_id in mention_email_recipients(now=now)
    )


def _quote(mention: Mention) -> Quote:
    message = mention.message
    text = message.text
    if len(text) > QUOTE_CHARACTERS:
        text = text[: QUOTE_CHARACTERS - 1] + "…"
    author = message.user.get_username() if message.user is not None else None
    return Quote(author=author, text=text, datetime=message.created)


def _send(*, user, course, mentions: list[Mention]) -> None:
    first_seq = mentions[0].message.seq
    email_send(
        template="chat/email/mentions",
        context={
            "user": user,
            "course": course,
            "count": len(mentions),
            "quotes": [_quote(mention) for mention in mentions[:QUOTED_MAX]],
            "more": max(0, len(mentions) - QUOTED_MAX),
            "room_url": absolute_url(f"{reverse('chat_room', args=[course.pk])}#seq-{first_seq}"),
            "off_url": absolute_url(
                reverse("mention_emails_off", args=[mention_emails_off_token(user=user)])
            ),
        },
        to=[user.email],
    )
