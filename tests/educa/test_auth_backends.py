import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission

from tests.factories import InstructorFactory, UserFactory

pytestmark = pytest.mark.django_db


def fresh(user):
    """The user as the next request loads it (no permissions cached on it)."""
    return type(user).objects.get(pk=user.pk)


def test_an_instructor_may_add_courses_in_one_query(django_assert_num_queries):
    instructor = fresh(InstructorFactory())

    with django_assert_num_queries(1):
        assert instructor.has_perm("courses.add_course")
        assert instructor.has_perm("courses.change_course")
        assert instructor.has_module_perms("courses")


def test_a_student_may_not_add_courses():
    student = fresh(UserFactory())

    assert not student.has_perm("courses.add_course")
    assert not student.has_module_perms("courses")


def test_a_permission_given_to_the_user_alone_counts():
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="add_course"))

    assert fresh(user).has_perm("courses.add_course")


def test_an_inactive_instructor_has_no_permission():
    instructor = InstructorFactory(is_active=False)

    assert not fresh(instructor).has_perm("courses.add_course")


def test_permissions_are_the_ones_djangos_model_backend_gives():
    instructor = InstructorFactory()
    instructor.user_permissions.add(Permission.objects.get(codename="view_subject"))

    assert fresh(instructor).get_all_permissions() == ModelBackend().get_all_permissions(
        fresh(instructor)
    )
