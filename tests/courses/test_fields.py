import pytest

from tests.factories import CourseFactory, ModuleFactory

pytestmark = pytest.mark.django_db


def test_modules_are_numbered_within_their_course():
    course, other_course = CourseFactory(), CourseFactory()
    first, second = ModuleFactory(course=course), ModuleFactory(course=course)
    elsewhere = ModuleFactory(course=other_course)

    assert (first.order, second.order, elsewhere.order) == (0, 1, 0)


def test_an_explicit_order_is_kept():
    module = ModuleFactory(order=7)

    assert module.order == 7
