from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from educa.db import BIGINT_MAX

from .selectors import course_get_for_enrollment
from .services import EMAIL_TAKEN

User = get_user_model()

UNKNOWN_COURSE = "There is no open course with this id."


class StudentRegistrationForm(UserCreationForm):
    email = forms.EmailField(
        label="E-mail",
        required=True,
        help_text="Used to reset your password.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(EMAIL_TAKEN)
        return email


class ProfileForm(forms.Form):
    """Name and e-mail; a plain form so that an invalid post never touches request.user."""

    first_name = User._meta.get_field("first_name").formfield()
    last_name = User._meta.get_field("last_name").formfield()
    email = forms.EmailField(
        label="E-mail", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        current = {"first_name": user.first_name, "last_name": user.last_name, "email": user.email}
        kwargs["initial"] = {**current, **(kwargs.get("initial") or {})}
        super().__init__(*args, **kwargs)

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email__iexact=email).exclude(pk=self.user.pk).exists():
            raise forms.ValidationError(EMAIL_TAKEN)
        return email


class AccountDeleteForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("This is not your password.")
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
