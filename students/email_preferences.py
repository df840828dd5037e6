"""Optional e-mails a user can turn off, and the signed one-click link that does it."""

from django.core import signing
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from .models import Profile

MENTION_EMAILS_LINK_INVALID = _(
    "This link is wrong or incomplete. You can turn mention e-mails off in your profile."
)

# Apart from every other signature of the site: this one can only turn mention e-mails off.
_MENTION_EMAILS_OFF_SALT = "students.mention-emails-off"


def mention_emails_wanted(*, user) -> bool:
    """Whether the user gets e-mails about their unread chat mentions (yes unless turned off)."""
    preference = Profile.objects.filter(user=user).first()
    return preference is None or preference.mention_emails


@transaction.atomic
def mention_emails_set(*, user, enabled: bool) -> Profile:
    """Turn the user's mention e-mails on or off."""
    preference, _ = Profile.objects.update_or_create(
        user=user, defaults={"mention_emails": enabled}
    )
    return preference


def mention_emails_off_token(*, user) -> str:
    """The token of the user's link that turns mention e-mails off, in every such e-mail.

    It never expires: the e-mails it is in may be read long after.
    """
    return signing.dumps(user.pk, salt=_MENTION_EMAILS_OFF_SALT, compress=True)


def user_get_for_mention_emails_off(*, token: str):
    """The active user a mention-e-mails-off token was made for, or None."""
    from django.contrib.auth import get_user_model

    try:
        user_id = signing.loads(token, salt=_MENTION_EMAILS_OFF_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(user_id, int):
        return None
    return get_user_model().objects.filter(pk=user_id, is_active=True).first()
