from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import (
    AdminUserCreationForm,
    AuthenticationForm,
    UserChangeForm,
    UserCreationForm,
)
from django.utils.translation import gettext_lazy as _

from educa.db import BIGINT_MAX

from .activation import user_is_awaiting_activation
from .selectors import course_get_for_enrollment
from .services import EMAIL_TAKEN, USERNAME_LOOKALIKE
from .usernames import username_clash_exists

User = get_user_model()

UNKNOWN_COURSE = _("There is no open course with this id.")
ACCOUNT_NOT_ACTIVATED = _(
    "This account is not open yet: follow the link in the e-mail we sent when you registered."
)


class UsernameLookalikeMixin:
    """A user model form whose `username` may not look like another user's (students.usernames);
    the same name in another case is one of the look-alikes."""

    def clean_username(self):
        username = self.cleaned_data.get("username")
        if username and username_clash_exists(username=username, user=self.instance):
            raise forms.ValidationError(USERNAME_LOOKALIKE)
        return username


class StudentRegistrationForm(UsernameLookalikeMixin, UserCreationForm):
    """Whether the e-mail address is in use is never said here (account enumeration)."""

    email = forms.EmailField(
        label=_("E-mail"),
        required=True,
        help_text=_("We send a link there to confirm your account."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")

    def clean_email(self):
        return User.objects.normalize_email(self.cleaned_data["email"])


class AdminUserCreateForm(UsernameLookalikeMixin, AdminUserCreationForm):
    """The admin's new user."""


class AdminUserChangeForm(UsernameLookalikeMixin, UserChangeForm):
    """The admin's user, renamed."""


class LoginForm(AuthenticationForm):
    def get_invalid_login_error(self):
        # Said only to whoever gives the right password, so it tells nobody that the name exists.
        username = self.cleaned_data.get("username")
        user = User.objects.filter(**{User.USERNAME_FIELD: username}).first()
        if (
            user is not None
            and user_is_awaiting_activation(user)
            and user.check_password(self.cleaned_data.get("password"))
        ):
            return forms.ValidationError(ACCOUNT_NOT_ACTIVATED, code="inactive")
        return super().get_invalid_login_error()


class ProfileForm(forms.Form):
    """Name, e-mail and language; a plain form, so an invalid post never touches request.user."""

    first_name = User._meta.get_field("first_name").formfield()
    last_name = User._meta.get_field("last_name").formfield()
    email = forms.EmailField(
        label=_("E-mail"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    language = forms.ChoiceField(
        label=_("Language"),
        choices=settings.LANGUAGES,
        # Left out, the saved language stays.
        required=False,
        help_text=_("The language of the pages, e-mails and chat."),
    )
    mention_emails = forms.BooleanField(
        label=_("E-mail me about chat mentions I leave unread"),
        required=False,
        help_text=_("At most one e-mail an hour for each chat room."),
    )

    def __init__(self, *args, user, language, **kwargs):
        """`language`: the one the user saved, else the one the page is in."""
        self.user = user
        current = {
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "language": language,
        }
        kwargs["initial"] = {**current, **(kwargs.get("initial") or {})}
        super().__init__(*args, **kwargs)

    def clean_language(self):
        return self.cleaned_data["language"] or None

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email__iexact=email).exclude(pk=self.user.pk).exists():
            raise forms.ValidationError(EMAIL_TAKEN)
        return email


class AccountDeleteForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("This is not your password."))
        return password


class CourseIdForm(forms.Form):
    """A course id posted by a button; resolves to a published course as `course`."""

    course_id = forms.IntegerField(min_value=1, max_value=BIGINT_MAX)

    def clean_course_id(self):
        course_id = self.cleaned_data["course_id"]
        self.course = course_get_for_enrollment(course_id=course_id)
        if self.course is None:
            raise forms.ValidationError(UNKNOWN_COURSE)
        return course_id


class CertificateNameForm(forms.Form):
    """The full name a certificate prints; both parts required."""

    first_name = forms.CharField(
        label=_("First name"),
        max_length=User._meta.get_field("first_name").max_length,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label=_("Last name"),
        max_length=User._meta.get_field("last_name").max_length,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
