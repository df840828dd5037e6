import threading

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection

from chat.models import Message, Room
from courses.models import Course
from students import services
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


def test_registering_creates_a_user_with_the_email_and_password():
    user = services.user_register(
        username="ada", email="ada@Example.COM", password="a-long-pass-phrase"
    )

    user.refresh_from_db()
    assert user.email == "ada@example.com"
    assert user.check_password("a-long-pass-phrase")
    assert not user.is_staff


def test_registering_with_an_email_in_use_is_refused_whatever_its_case():
    UserFactory(email="ada@example.com")

    with pytest.raises(ValidationError) as error:
        services.user_register(username="ada2", email="ADA@example.com", password="x-long-pass")

    assert error.value.message_dict == {"email": [services.EMAIL_TAKEN]}


def test_registering_without_an_email_is_refused():
    with pytest.raises(ValidationError) as error:
        services.user_register(username="ada", email="", password="a-long-pass-phrase")

    assert error.value.message_dict == {"email": [services.EMAIL_REQUIRED]}


def test_registering_a_taken_username_is_refused():
    UserFactory(username="ada")

    with pytest.raises(ValidationError) as error:
        services.user_register(username="ada", email="new@example.com", password="x-long-pass")

    assert "username" in error.value.message_dict


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
