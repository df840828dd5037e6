import re
import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from chat.models import Message, Room
from courses.models import Course
from students import services
from students.activation import activation_path
from students.models import ContentCompletion, Enrollment
from tests.factories import (
    ContentCompletionFactory,
    ContentFactory,
    CourseFactory,
    EnrollmentFactory,
    ModuleFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


# --- enrollment -------------------------------------------------------------------------------


def test_enrolling_creates_an_enrollment():
    student, course = UserFactory(), CourseFactory()

    enrollment = services.enrollment_create(student=student, course=course)

    assert Enrollment.objects.get() == enrollment
    assert (enrollment.student, enrollment.course) == (student, course)


def test_enrolling_twice_keeps_one_enrollment():
    student, course = UserFactory(), CourseFactory()

    first = services.enrollment_create(student=student, course=course)
    second = services.enrollment_create(student=student, course=course)

    assert first == second
    assert Enrollment.objects.count() == 1


def test_enrolling_in_a_draft_course_is_refused():
    course = CourseFactory(status=Course.Status.DRAFT)

    with pytest.raises(ValidationError) as error:
        services.enrollment_create(student=UserFactory(), course=course)

    assert error.value.messages == [services.COURSE_NOT_PUBLISHED]
    assert not Enrollment.objects.exists()


def test_the_owner_cannot_enroll_in_their_own_course():
    course = CourseFactory()

    with pytest.raises(ValidationError) as error:
        services.enrollment_create(student=course.owner, course=course)

    assert error.value.messages == [services.OWNER_CANNOT_ENROLL]


# Serialized rollback brings back the Instructors group (a data migration) after the flush.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_enrolling_from_two_requests_at_once_keeps_one_enrollment():
    student, course = UserFactory(), CourseFactory()
    barrier = threading.Barrier(4)
    results, errors = [], []

    def enroll():
        try:
            barrier.wait()
            results.append(services.enrollment_create(student=student, course=course))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=enroll) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert {enrollment.pk for enrollment in results} == {Enrollment.objects.get().pk}


def test_unenrolling_deletes_the_enrollment():
    enrollment = EnrollmentFactory()

    services.enrollment_delete(student=enrollment.student, course=enrollment.course)

    assert not Enrollment.objects.exists()


def test_unenrolling_when_not_enrolled_is_harmless():
    services.enrollment_delete(student=UserFactory(), course=CourseFactory())

    assert not Enrollment.objects.exists()


def test_the_owner_cannot_unenroll():
    course = CourseFactory()

    with pytest.raises(ValidationError) as error:
        services.enrollment_delete(student=course.owner, course=course)

    assert error.value.messages == [services.OWNER_CANNOT_UNENROLL]


def test_unenrolling_keeps_progress_for_a_return():
    enrollment = EnrollmentFactory()
    content = ContentFactory(module__course=enrollment.course)
    ContentCompletionFactory(student=enrollment.student, content=content)

    services.enrollment_delete(student=enrollment.student, course=enrollment.course)

    assert ContentCompletion.objects.filter(student=enrollment.student).exists()


def test_visiting_a_module_remembers_it():
    enrollment = EnrollmentFactory()
    module = ModuleFactory(course=enrollment.course)

    services.enrollment_visit_module(student=enrollment.student, module=module)

    enrollment.refresh_from_db()
    assert enrollment.last_module == module


def test_visiting_a_module_of_another_course_changes_nothing():
    enrollment = EnrollmentFactory()

    services.enrollment_visit_module(student=enrollment.student, module=ModuleFactory())

    enrollment.refresh_from_db()
    assert enrollment.last_module is None


def test_deleting_the_last_visited_module_keeps_the_enrollment():
    enrollment = EnrollmentFactory()
    module = ModuleFactory(course=enrollment.course)
    services.enrollment_visit_module(student=enrollment.student, module=module)

    module.delete()

    enrollment.refresh_from_db()
    assert enrollment.last_module is None


# --- progress ---------------------------------------------------------------------------------


def test_marking_a_content_done_records_a_completion():
    student, content = UserFactory(), ContentFactory()

    completion = services.content_completion_create(student=student, content=content)

    assert ContentCompletion.objects.get() == completion


def test_marking_a_content_done_twice_keeps_one_completion():
    student, content = UserFactory(), ContentFactory()

    services.content_completion_create(student=student, content=content)
    services.content_completion_create(student=student, content=content)

    assert ContentCompletion.objects.count() == 1


def test_marking_a_content_not_done_deletes_the_completion():
    completion = ContentCompletionFactory()

    services.content_completion_delete(student=completion.student, content=completion.content)

    assert not ContentCompletion.objects.exists()


def test_marking_a_content_not_done_leaves_other_students_progress():
    completion = ContentCompletionFactory()

    services.content_completion_delete(student=UserFactory(), content=completion.content)

    assert ContentCompletion.objects.get() == completion


# --- accounts ---------------------------------------------------------------------------------


SITE = "https://educa.example:8443"


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE


def register(**overrides):
    fields = {"username": "ada", "email": "ada@example.com", "password": "a-long-pass-phrase"}
    return services.user_register(**{**fields, **overrides})


def sent_link(message) -> str:
    return re.search(r"https?://\S+", message.body).group()


def test_registering_creates_an_inactive_user_with_the_email_and_password():
    user = register(email="ada@Example.COM")

    user.refresh_from_db()
    assert user.email == "ada@example.com"
    assert user.check_password("a-long-pass-phrase")
    assert (user.is_active, user.is_staff) == (False, False)


def test_registering_e_mails_an_absolute_activation_link(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        user = register()

    [message] = mail.outbox
    assert message.to == ["ada@example.com"]
    assert sent_link(message) == SITE + activation_path(user=user)


def test_registering_sends_nothing_before_the_account_is_committed(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        register()

    assert (mail.outbox, len(callbacks)) == ([], 1)


def test_registering_with_an_email_in_use_creates_no_account_whatever_its_case():
    UserFactory(email="ada@example.com")

    assert register(username="ada2", email="ADA@example.com") is None
    assert not User.objects.filter(username="ada2").exists()


def test_registering_with_an_email_in_use_e_mails_its_owner_a_password_reset_link(
    django_capture_on_commit_callbacks,
):
    owner = UserFactory(username="lovelace", email="ada@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        register(username="ada2", email="ADA@example.com")

    [message] = mail.outbox
    assert message.subject == "You already have an Educa account"
    assert message.to == ["ada@example.com"]
    assert "lovelace" in message.body
    uidb64, token = sent_link(message).removeprefix(SITE).split("/")[-3:-1]
    assert sent_link(message).startswith(SITE + "/accounts/reset/")
    assert default_token_generator.check_token(owner, token)
    assert uidb64 == urlsafe_base64_encode(force_bytes(owner.pk))


def test_registering_again_before_confirming_e_mails_the_first_accounts_link_again(
    django_capture_on_commit_callbacks,
):
    first = register(username="ada")

    with django_capture_on_commit_callbacks(execute=True):
        register(username="ada2")

    [message] = mail.outbox
    assert sent_link(message) == SITE + activation_path(user=first)
    assert not User.objects.filter(username="ada2").exists()


def test_registering_with_the_address_of_a_deactivated_account_sends_nothing(
    django_capture_on_commit_callbacks,
):
    UserFactory(email="ada@example.com", is_active=False, last_login=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        register(username="ada2")

    assert mail.outbox == []


def test_a_registration_whose_link_expired_frees_its_name_and_address(settings):
    first = register(username="ada")
    User.objects.filter(pk=first.pk).update(
        date_joined=timezone.now() - timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 1)
    )

    second = register(username="ADA")

    assert list(User.objects.values_list("pk", "username")) == [(second.pk, "ADA")]


def test_registering_without_an_email_is_refused():
    with pytest.raises(ValidationError) as error:
        register(email="")

    assert error.value.message_dict == {"email": [services.EMAIL_REQUIRED]}


def test_registering_a_taken_username_is_refused():
    UserFactory(username="ada")

    with pytest.raises(ValidationError) as error:
        register(username="ada", email="new@example.com")

    assert error.value.message_dict == {"username": [services.USERNAME_LOOKALIKE]}


@pytest.mark.parametrize("lookalike", ["ädmin", "Admin", "\u0430dmin", "ａｄｍｉｎ", "adrnin"])
def test_registering_a_name_that_looks_like_a_taken_one_is_refused(lookalike):
    UserFactory(username="admin")

    with pytest.raises(ValidationError) as error:
        register(username=lookalike, email="new@example.com")

    assert error.value.message_dict == {"username": [services.USERNAME_LOOKALIKE]}


def test_a_taken_username_is_refused_even_with_an_email_in_use():
    UserFactory(username="admin")
    UserFactory(email="ada@example.com")

    with pytest.raises(ValidationError) as error:
        register(username="Admin", email="ada@example.com")

    assert "username" in error.value.message_dict


def test_activating_opens_the_account():
    user = register()

    services.user_activate(user=user)

    user.refresh_from_db()
    assert user.is_active


def test_updating_the_profile_changes_name_and_email():
    user = UserFactory()

    services.user_profile_update(
        user=user, first_name="Ada", last_name="Lovelace", email="ada@example.com"
    )

    user.refresh_from_db()
    assert (user.first_name, user.last_name, user.email) == ("Ada", "Lovelace", "ada@example.com")


def test_keeping_ones_own_email_in_the_profile_is_allowed():
    user = UserFactory(email="ada@example.com")

    services.user_profile_update(user=user, first_name="A", last_name="L", email="ADA@example.com")

    user.refresh_from_db()
    assert user.first_name == "A"


def test_taking_another_users_email_in_the_profile_is_refused():
    UserFactory(email="taken@example.com")
    user = UserFactory()

    with pytest.raises(ValidationError) as error:
        services.user_profile_update(
            user=user, first_name="", last_name="", email="taken@example.com"
        )

    assert error.value.message_dict == {"email": [services.EMAIL_TAKEN]}


def test_deleting_a_user_deletes_their_enrollments_and_progress():
    enrollment = EnrollmentFactory()
    ContentCompletionFactory(student=enrollment.student)

    services.user_delete(user=enrollment.student)

    assert not User.objects.filter(pk=enrollment.student.pk).exists()
    assert not Enrollment.objects.exists()
    assert not ContentCompletion.objects.exists()


def test_deleting_a_user_keeps_their_chat_messages_without_an_author():
    enrollment = EnrollmentFactory()
    room = Room.objects.create(course=enrollment.course, last_seq=1)
    message = Message.objects.create(room=room, seq=1, user=enrollment.student, text="Hello")

    services.user_delete(user=enrollment.student)

    message.refresh_from_db()
    assert (message.text, message.user) == ("Hello", None)


def test_deleting_a_user_who_owns_courses_is_refused():
    course = CourseFactory()

    with pytest.raises(ValidationError) as error:
        services.user_delete(user=course.owner)

    assert error.value.messages == [services.OWNER_OF_COURSES]
    assert Course.objects.filter(pk=course.pk).exists()


def test_registering_the_reserved_instructor_name_is_refused():
    with pytest.raises(ValidationError) as error:
        register(username="instructor", email="new@example.com")

    assert error.value.message_dict == {"username": [services.USERNAME_LOOKALIKE]}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_look_alike_names_registered_at_once_make_one_account():
    names = ["admin", "Admin", "\u0430dmin", "ädmin"]
    barrier = threading.Barrier(len(names))
    refusals = []

    def register_as(n):
        try:
            barrier.wait()
            register(username=names[n], email=f"person{n}@example.com")
        except ValidationError as error:
            refusals.append(error.message_dict)
        finally:
            connection.close()

    threads = [threading.Thread(target=register_as, args=[n]) for n in range(len(names))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert User.objects.count() == 1
    assert refusals == [{"username": [services.USERNAME_LOOKALIKE]}] * 3
