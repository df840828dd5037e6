import re

import pytest
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from students.forms import ACCOUNT_NOT_ACTIVATED
from students.models import ContentCompletion, Enrollment
from students.services import (
    ACTIVATION_LINK_INVALID,
    EMAIL_TAKEN,
    OWNER_OF_COURSES,
    USERNAME_LOOKALIKE,
)
from tests.factories import ContentCompletionFactory, CourseFactory, EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db

REGISTER = reverse("student_registration")
PASSWORD = "pass-word-123"  # tests.factories.UserFactory's
NEW_PASSWORD = "a-brand-new-pass-phrase"


def registration(**overrides):
    data = {
        "username": "ada",
        "email": "ada@example.com",
        "password1": "an-analytical-engine",
        "password2": "an-analytical-engine",
    }
    return {**data, **overrides}


@pytest.fixture
def user(client):
    user = UserFactory()
    client.force_login(user)
    return user


# --- registration -----------------------------------------------------------------------------


def register(client, **overrides):
    """Posts the registration form and follows the answer, with the e-mails sent."""
    # The e-mails leave once the account is committed: here, at the end of the request.
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(REGISTER, registration(**overrides), follow=True)


def activation_link(message) -> str:
    return re.search(r"http://testserver(/accounts/activate/\S+)", message.body).group(1)


def test_registering_says_to_check_the_inbox_and_logs_nobody_in(client):
    response = register(client)

    assert response.redirect_chain == [(reverse("student_registration_done"), 302)]
    assert "Check your inbox" in response.content.decode()
    assert not response.context["user"].is_authenticated


def test_registering_records_the_email_on_an_inactive_account(client):
    register(client)

    assert User.objects.filter(username="ada", email="ada@example.com", is_active=False).exists()


def test_registering_e_mails_a_link_to_the_address(client):
    register(client)

    [message] = mail.outbox
    assert message.to == ["ada@example.com"]
    assert activation_link(message).startswith("/accounts/activate/")


def test_registering_with_an_email_in_use_answers_the_same_page(client):
    new = register(Client(), username="grace", email="grace@example.com")
    UserFactory(email="ada@example.com")

    taken = register(client, email="ADA@example.com")

    assert (taken.redirect_chain, taken.status_code) == (new.redirect_chain, new.status_code)
    assert taken.content == new.content
    assert not User.objects.filter(username="ada").exists()


def test_registering_with_an_email_in_use_e_mails_a_password_reset_link(client):
    UserFactory(email="ada@example.com")

    register(client, email="ADA@example.com")

    [message] = mail.outbox
    assert "http://testserver/accounts/reset/" in message.body


def test_following_the_link_asks_before_opening_the_account(client):
    register(client)

    response = client.get(activation_link(mail.outbox[0]))

    assert response.status_code == 200
    assert "Open my account" in response.content.decode()
    assert not User.objects.get(username="ada").is_active


def test_confirming_opens_the_account_and_logs_in(client):
    register(client)

    response = client.post(activation_link(mail.outbox[0]), follow=True)

    assert response.redirect_chain == [(reverse("student_course_list"), 302)]
    assert response.context["user"].username == "ada"
    assert User.objects.get(username="ada").is_active


def test_a_link_works_once(client):
    register(client)
    link = activation_link(mail.outbox[0])
    client.post(link)
    client.post(reverse("logout"))

    response = client.post(link)

    assert response.status_code == 400
    assert str(ACTIVATION_LINK_INVALID) in response.content.decode()


@pytest.mark.parametrize("token", ["abc-123", "x" * 200])
def test_a_wrong_link_is_refused_with_400(client, token):
    user = UserFactory(is_active=False)
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))

    response = client.get(reverse("account_activate", args=[uidb64, token]))

    assert response.status_code == 400
    assert str(ACTIVATION_LINK_INVALID) in response.content.decode()


@pytest.mark.parametrize("uidb64", ["!!", "OTk5OTk5OTk5OTk5OTk5OTk5OTk5", "YWRh"])
def test_a_link_naming_no_account_is_refused_with_400(client, uidb64):
    response = client.get(reverse("account_activate", args=[uidb64, "abc-123"]))

    assert response.status_code == 400


def test_a_password_reset_token_does_not_open_an_account(client):
    user = UserFactory(is_active=False)
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)

    assert client.post(reverse("account_activate", args=[uidb64, token])).status_code == 400


def test_an_expired_link_is_refused(client, settings):
    register(client)
    link = activation_link(mail.outbox[0])
    settings.PASSWORD_RESET_TIMEOUT = -1

    assert client.get(link).status_code == 400


def test_a_link_cannot_reopen_an_account_deactivated_by_staff(client):
    register(client)
    link = activation_link(mail.outbox[0])
    User.objects.filter(username="ada").update(last_login=timezone.now())

    assert client.post(link).status_code == 400
    assert not User.objects.get(username="ada").is_active


def test_an_account_not_yet_opened_cannot_log_in_and_is_told_why(client):
    register(client)

    response = client.post(
        reverse("login"), {"username": "ada", "password": "an-analytical-engine"}
    )

    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [ACCOUNT_NOT_ACTIVATED]


def test_a_wrong_password_for_an_account_not_yet_opened_says_only_that_it_is_wrong(client):
    register(client)

    response = client.post(reverse("login"), {"username": "ada", "password": "wrong"})

    assert ACCOUNT_NOT_ACTIVATED not in response.context["form"].non_field_errors()


def test_registering_a_name_like_a_taken_one_shows_the_form_again(client):
    UserFactory(username="admin")

    response = client.post(REGISTER, registration(username="\u0430dmin"))

    assert response.status_code == 400
    assert response.context["form"].errors["username"] == [USERNAME_LOOKALIKE]


def test_the_registration_form_asks_for_an_email(client):
    page = client.get(REGISTER).content.decode()

    assert 'name="email"' in page
    assert 'name="password2"' in page


def test_registering_without_an_email_shows_the_form_again(client):
    response = client.post(REGISTER, registration(email=""))

    assert response.status_code == 400
    assert response.context["form"].errors["email"]
    assert not User.objects.exists()


def test_registering_with_mismatched_passwords_shows_the_form_again(client):
    response = client.post(REGISTER, registration(password2="something-else-entirely"))

    assert response.context["form"].errors["password2"]
    assert not User.objects.exists()


def test_registering_with_a_weak_password_shows_the_form_again(client):
    response = client.post(REGISTER, registration(password1="12345678", password2="12345678"))

    assert response.context["form"].errors["password2"]


def test_a_logged_in_user_visiting_registration_goes_to_my_courses(client, user):
    response = client.get(REGISTER)

    assert response.status_code == 302
    assert response.url == reverse("student_course_list")


# --- log in and out ---------------------------------------------------------------------------


def test_logging_in_goes_to_my_courses(client):
    user = UserFactory()

    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})

    assert response.status_code == 302
    assert response.url == reverse("student_course_list")


def test_logging_in_with_a_wrong_password_shows_the_form_again(client):
    user = UserFactory()

    response = client.post(reverse("login"), {"username": user.username, "password": "wrong"})

    assert response.status_code == 400
    assert response.context["form"].non_field_errors()


def test_logging_out_takes_a_post(client, user):
    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_a_get_on_log_out_is_a_405(client, user):
    assert client.get(reverse("logout")).status_code == 405


def test_the_navigation_links_to_my_courses_profile_and_log_out(client, user):
    page = client.get(reverse("student_course_list")).content.decode()

    assert f'href="{reverse("student_course_list")}"' in page
    assert f'href="{reverse("profile")}"' in page
    assert f'action="{reverse("logout")}"' in page


def test_the_navigation_offers_log_in_and_registration_to_visitors(client):
    page = client.get(reverse("login")).content.decode()

    assert f'href="{reverse("login")}"' in page
    assert f'href="{REGISTER}"' in page


# --- passwords --------------------------------------------------------------------------------


def test_changing_the_password(client, user):
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.url == reverse("password_change_done")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert client.get(reverse("password_change_done")).status_code == 200


def test_resetting_a_forgotten_password_by_email(client):
    user = UserFactory(email="ada@example.com")

    response = client.post(reverse("password_reset"), {"email": "ada@example.com"})

    assert response.url == reverse("password_reset_done")
    [message] = mail.outbox
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", message.body).group(1)
    form_url = client.get(link).url  # Django swaps the token for a session-held one
    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.url == reverse("password_reset_complete")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_a_password_reset_for_an_unknown_email_sends_nothing_and_says_nothing(client):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})

    assert response.url == reverse("password_reset_done")
    assert mail.outbox == []


def test_a_used_reset_link_says_it_no_longer_works(client):
    response = client.get(reverse("password_reset_confirm", args=["MQ", "bad-token"]))

    assert response.status_code == 200
    assert "no longer works" in response.content.decode()


@pytest.mark.parametrize(
    "name", ["login", "password_reset", "password_reset_done", "password_reset_complete"]
)
def test_the_public_account_pages_render(client, name):
    assert client.get(reverse(name)).status_code == 200


# --- profile ----------------------------------------------------------------------------------


def test_the_profile_changes_name_and_email(client, user):
    response = client.post(
        reverse("profile"),
        {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"},
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.first_name, user.last_name, user.email) == ("Ada", "Lovelace", "ada@example.com")


def test_the_profile_refuses_another_users_email(client, user):
    UserFactory(email="taken@example.com")

    response = client.post(
        reverse("profile"), {"first_name": "", "last_name": "", "email": "taken@example.com"}
    )

    assert response.context["form"].errors["email"] == [EMAIL_TAKEN]


def test_the_profile_refuses_an_empty_email(client, user):
    response = client.post(reverse("profile"), {"first_name": "A", "last_name": "", "email": ""})

    assert response.context["form"].errors["email"]
    user.refresh_from_db()
    assert user.email


def test_the_profile_shows_the_current_name_and_email(client, user):
    page = client.get(reverse("profile")).content.decode()

    assert f'value="{user.email}"' in page


def test_the_profile_sends_anonymous_users_to_log_in(client):
    assert client.get(reverse("profile")).url.startswith(reverse("login"))


# --- account deletion -------------------------------------------------------------------------


def test_deleting_the_account_takes_enrollments_and_progress_and_logs_out(client):
    enrollment = EnrollmentFactory()
    ContentCompletionFactory(student=enrollment.student)
    client.force_login(enrollment.student)

    response = client.post(reverse("account_delete"), {"password": PASSWORD})

    assert response.status_code == 302
    assert response.url == reverse("course_list")
    assert not User.objects.filter(pk=enrollment.student.pk).exists()
    assert not Enrollment.objects.exists()
    assert not ContentCompletion.objects.exists()
    assert "_auth_user_id" not in client.session


def test_deleting_the_account_needs_the_right_password(client, user):
    response = client.post(reverse("account_delete"), {"password": "not-it"})

    assert response.status_code == 400
    assert response.context["form"].errors["password"]
    assert User.objects.filter(pk=user.pk).exists()


def test_a_get_on_account_deletion_only_asks_for_confirmation(client, user):
    response = client.get(reverse("account_delete"))

    assert response.status_code == 200
    assert User.objects.filter(pk=user.pk).exists()


def test_an_instructor_with_courses_cannot_delete_their_account(client):
    course = CourseFactory()
    client.force_login(course.owner)

    response = client.post(reverse("account_delete"), {"password": PASSWORD})

    assert str(OWNER_OF_COURSES) in response.content.decode()
    assert User.objects.filter(pk=course.owner.pk).exists()


# --- user names in the admin ------------------------------------------------------------------


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_the_admin_refuses_a_new_user_whose_name_looks_like_a_taken_one(admin_client):
    UserFactory(username="admin")
    password = "an-analytical-engine"

    response = admin_client.post(
        reverse("admin:auth_user_add"),
        {
            "username": "ädmin",
            "usable_password": "true",
            "password1": password,
            "password2": password,
        },
    )

    assert response.context["adminform"].form.errors["username"] == [USERNAME_LOOKALIKE]
    assert not User.objects.filter(username="ädmin").exists()


def test_the_admin_refuses_to_rename_a_user_like_another(admin_client):
    UserFactory(username="admin")
    user = UserFactory(username="grace")

    response = admin_client.post(
        reverse("admin:auth_user_change", args=[user.pk]),
        {"username": "Admin", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"},
    )

    assert response.context["adminform"].form.errors["username"] == [USERNAME_LOOKALIKE]
    user.refresh_from_db()
    assert user.username == "grace"


def test_the_admin_keeps_a_users_own_name(admin_client):
    user = UserFactory(username="grace")

    response = admin_client.post(
        reverse("admin:auth_user_change", args=[user.pk]),
        {"username": "grace", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"},
    )

    assert response.status_code == 302


def test_an_account_not_yet_opened_gets_no_api_token(client):
    register(client)

    response = client.post(
        reverse("api:token"), {"username": "ada", "password": "an-analytical-engine"}
    )

    assert response.status_code == 400
