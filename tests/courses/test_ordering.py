import threading

import pytest
from django.db import connection
from django.http import Http404

from courses import services
from courses.models import Content, Course, Module, Text
from tests.factories import ContentFactory, CourseFactory, ModuleFactory


def titles(course) -> list[str]:
    return list(
        Module.objects.filter(course=course).order_by("order").values_list("title", flat=True)
    )


def orders(course) -> list[int]:
    return list(
        Module.objects.filter(course=course).order_by("order").values_list("order", flat=True)
    )


def modules_of(course, *names):
    return [ModuleFactory(course=course, title=name) for name in names]


@pytest.mark.django_db
def test_modules_take_the_positions_sent():
    course = CourseFactory()
    a, b, c = modules_of(course, "a", "b", "c")

    services.module_reorder(owner=course.owner, orders={a.pk: 2, b.pk: 0, c.pk: 1})

    assert titles(course) == ["b", "c", "a"]


@pytest.mark.django_db
def test_swapping_two_modules_keeps_one_number_per_position():
    course = CourseFactory()
    a, b = modules_of(course, "a", "b")

    services.module_reorder(owner=course.owner, orders={a.pk: 1, b.pk: 0})

    assert (titles(course), orders(course)) == (["b", "a"], [0, 1])


@pytest.mark.django_db
def test_modules_left_out_of_the_request_keep_their_relative_order():
    course = CourseFactory()
    a, b, c = modules_of(course, "a", "b", "c")

    services.module_reorder(owner=course.owner, orders={c.pk: 0})

    assert titles(course) == ["c", "a", "b"]


@pytest.mark.django_db
def test_reordering_closes_gaps_left_by_deleted_modules():
    course = CourseFactory()
    a, b, c = modules_of(course, "a", "b", "c")
    b.delete()

    services.module_reorder(owner=course.owner, orders={c.pk: 0, a.pk: 1})

    assert orders(course) == [0, 1]


@pytest.mark.django_db
def test_reordering_bumps_the_course_version():
    course = CourseFactory()
    a, b = modules_of(course, "a", "b")

    services.module_reorder(owner=course.owner, orders={a.pk: 1, b.pk: 0})

    assert Course.objects.get(pk=course.pk).version == 2


@pytest.mark.django_db
def test_sending_the_current_order_changes_nothing():
    course = CourseFactory()
    a, b = modules_of(course, "a", "b")

    services.module_reorder(owner=course.owner, orders={a.pk: 0, b.pk: 1})

    assert Course.objects.get(pk=course.pk).version == 1


@pytest.mark.django_db
def test_modules_of_another_instructor_cannot_be_reordered():
    course, intruder_course = CourseFactory(), CourseFactory()
    a, b = modules_of(course, "a", "b")

    with pytest.raises(Http404):
        services.module_reorder(owner=intruder_course.owner, orders={a.pk: 1, b.pk: 0})

    assert titles(course) == ["a", "b"]


@pytest.mark.django_db
def test_one_foreign_id_among_own_ones_refuses_the_whole_request():
    course, other = CourseFactory(), CourseFactory()
    a, b = modules_of(course, "a", "b")
    foreign = ModuleFactory(course=other)

    with pytest.raises(Http404):
        services.module_reorder(owner=course.owner, orders={a.pk: 1, b.pk: 0, foreign.pk: 0})

    assert titles(course) == ["a", "b"]


@pytest.mark.django_db
def test_contents_take_the_positions_sent():
    module = ModuleFactory()
    first, second = ContentFactory(module=module), ContentFactory(module=module)

    services.content_reorder(owner=module.course.owner, orders={first.pk: 1, second.pk: 0})

    assert list(module.contents.order_by("order").values_list("pk", flat=True)) == [
        second.pk,
        first.pk,
    ]


@pytest.mark.django_db
def test_contents_of_another_instructor_cannot_be_reordered():
    content = ContentFactory()

    with pytest.raises(Http404):
        services.content_reorder(owner=CourseFactory().owner, orders={content.pk: 3})


# --- concurrency: real transactions in threads, each with its own connection --------------------


def run_together(count, action):
    """Run action(i) in `count` threads released at once; returns the exceptions raised."""
    barrier = threading.Barrier(count)
    errors = []

    def worker(index):
        try:
            barrier.wait()
            action(index)
        except Exception as error:  # collected for the assertion
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_modules_created_at_the_same_time_get_distinct_numbers():
    course = CourseFactory()

    errors = run_together(8, lambda i: services.module_create(course=course, title=f"m{i}"))

    assert (errors, orders(course)) == ([], list(range(8)))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_contents_created_at_the_same_time_get_distinct_numbers():
    module = ModuleFactory()

    def create(index):
        services.content_create(module=module, item=Text(title=f"t{index}", content="x"))

    errors = run_together(8, create)

    numbers = sorted(Content.objects.filter(module=module).values_list("order", flat=True))
    assert (errors, numbers) == ([], list(range(8)))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_every_concurrent_change_bumps_the_version_once():
    course = CourseFactory()

    run_together(8, lambda i: services.module_create(course=course, title=f"m{i}"))

    assert Course.objects.get(pk=course.pk).version == 9
