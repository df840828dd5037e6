"""Registration confirmed by e-mail: the links that activate a new account, and who they name."""

from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

User = get_user_model()


class AccountActivationTokenGenerator(PasswordResetTokenGenerator):
    """Signed tokens that expire with PASSWORD_RESET_TIMEOUT; salted apart, so that a password
    reset link never opens an account, nor an activation link resets a password."""

    key_salt = "students.activation.AccountActivationTokenGenerator"


account_activation_token = AccountActivationTokenGenerator()


def user_is_awaiting_activation(user) -> bool:
    """Registered and never confirmed. An inactive account that was once used has been
    deactivated by staff: no link may reopen it."""
    return not user.is_active and user.last_login is None


def activation_path(*, user) -> str:
    """The path of the link that activates the user's account."""
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("account_activate", args=[uidb64, account_activation_token.make_token(user)])


def user_get_for_activation(*, uidb64: str, token: str):
    """The account awaiting activation that a link names, or None for a wrong, expired or
    spent link."""
    try:
        pk = int(urlsafe_base64_decode(uidb64).decode())
    except (ValueError, UnicodeDecodeError):
        return None
    user = User.objects.filter(pk=pk).first()  # out of the id's range: none, no error
    if user is None or not user_is_awaiting_activation(user):
        return None
    if not account_activation_token.check_token(user, token):
        return None
    return user
