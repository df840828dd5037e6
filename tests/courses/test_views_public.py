import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from courses.models import Course
from tests.factories import (
    ContentFactory,
    CourseFactory,
    EnrollmentFactory,
    InstructorFactory,
    ModuleFactory,
    SubjectFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


# --- course list ------------------------------------------------------------------------------


def test_the_home_page_lists_published_courses(client):
    CourseFactory(title="Learning Python")

    response = client.get(reverse("course_list"))

    assert b"Learning Python" in response.content


def test_the_home_page_hides_drafts(client):
    CourseFactory(title="Secret draft", status=Course.Status.DRAFT)

    response = client.get(reverse("course_list"))

    assert b"Secret draft" not in response.content


def test_the_home_page_shows_module_counts(client):
    ModuleFactory.create_batch(3, course=CourseFactory())

    response = client.get(reverse("course_list"))

    assert b"3 modules" in response.content


def test_the_course_list_is_paginated(client):
    CourseFactory.create_batch(13)

    response = client.get(reverse("course_list"), {"page": 2})

    assert len(response.context["courses"]) == 1


def test_a_page_beyond_the_last_is_not_found(client):
    CourseFactory()

    assert client.get(reverse("course_list"), {"page": 9}).status_code == 404


def test_a_non_numeric_page_is_not_found(client):
    assert client.get(reverse("course_list"), {"page": "abc"}).status_code == 404


def test_the_course_list_comes_newest_first(client):
    CourseFactory.create_batch(3)

    response = client.get(reverse("course_list"))

    courses = list(response.context["courses"])
    assert courses == sorted(courses, key=lambda c: (c.created, c.pk), reverse=True)


def test_a_search_keeps_only_matching_courses(client):
    CourseFactory(title="Learning Python")
    CourseFactory(title="Piano for beginners")

    response = client.get(reverse("course_list"), {"q": "python"})

    assert [c.title for c in response.context["courses"]] == ["Learning Python"]


def test_pagination_links_keep_the_search(client):
    CourseFactory.create_batch(13, title="Python course")

    response = client.get(reverse("course_list"), {"q": "python"})

    assert b"?q=python&amp;page=2" in response.content


def test_the_sidebar_counts_courses_per_subject(client):
    subject = SubjectFactory(title="Music")
    CourseFactory.create_batch(2, subject=subject)

    response = client.get(reverse("course_list"))

    assert b"2 courses" in response.content


def test_a_subject_page_lists_only_that_subjects_courses(client):
    music = SubjectFactory()
    CourseFactory(subject=music, title="Piano")
    CourseFactory(title="Python")

    response = client.get(reverse("course_list_subject", args=[music.slug]))

    assert [c.title for c in response.context["courses"]] == ["Piano"]


def test_an_unknown_subject_is_not_found(client):
    assert client.get(reverse("course_list_subject", args=["nothing"])).status_code == 404


def test_the_course_list_runs_as_many_queries_for_30_courses_as_for_1(client):
    CourseFactory()
    one = count_queries(client, reverse("course_list"))
    for _ in range(29):
        ModuleFactory.create_batch(2, course=CourseFactory(subject=SubjectFactory()))

    assert count_queries(client, reverse("course_list")) == one


# --- course detail ----------------------------------------------------------------------------


def test_the_course_page_shows_overview_modules_and_instructor(client):
    owner = InstructorFactory(first_name="Ada", last_name="Lovelace")
    course = CourseFactory(owner=owner, overview="All about engines.")
    ModuleFactory(course=course, title="Analytical engine")

    content = client.get(course.get_absolute_url()).content.decode()

    assert all(text in content for text in ["All about engines.", "Analytical engine", "Ada"])


def test_the_course_page_shows_contents_by_kind_and_an_estimated_length(client):
    course = CourseFactory()
    module = ModuleFactory(course=course)
    ContentFactory.create_batch(2, module=module, item__content="word " * 400)

    content = client.get(course.get_absolute_url()).content.decode()

    assert "1 module: 2\u00a0texts" in content
    assert "about 4 minutes" in content


def test_the_course_page_puts_each_module_description_in_a_disclosure(client):
    module = ModuleFactory(description="Gears and levers.")

    content = client.get(module.course.get_absolute_url()).content.decode()

    assert "<summary>About this module</summary>" in content
    assert "Gears and levers." in content.split("<details>")[1]


def test_the_contents_are_not_counted_again_while_the_page_is_cached(client):
    course = CourseFactory()
    ContentFactory(module=ModuleFactory(course=course))
    client.force_login(UserFactory())
    client.get(course.get_absolute_url())

    with CaptureQueriesContext(connection) as queries:
        client.get(course.get_absolute_url())

    assert not any('"courses_text"' in query["sql"] for query in queries.captured_queries)


def test_a_course_without_modules_has_a_page(client):
    course = CourseFactory()

    response = client.get(course.get_absolute_url())

    assert b"no modules yet" in response.content


def test_a_student_sees_an_enroll_form_posting_the_course_id(client):
    course = CourseFactory()
    client.force_login(UserFactory())

    content = client.get(course.get_absolute_url()).content.decode()

    assert 'action="/students/enroll-course/"' in content
    assert f'name="course_id" value="{course.pk}"' in content


def test_an_enrolled_student_is_offered_to_continue(client):
    enrollment = EnrollmentFactory()
    client.force_login(enrollment.student)

    content = client.get(enrollment.course.get_absolute_url()).content.decode()

    assert "Continue" in content
    assert "enroll-course" not in content


def test_an_anonymous_visitor_is_asked_to_log_in_to_enroll(client):
    course = CourseFactory()

    content = client.get(course.get_absolute_url()).content.decode()

    assert f"/accounts/login/?next=/course/{course.slug}/" in content


def test_an_unknown_course_is_not_found(client):
    assert client.get(reverse("course_detail", args=["nothing"])).status_code == 404


def test_a_draft_is_not_found_by_anonymous_visitors(client):
    draft = CourseFactory(status=Course.Status.DRAFT)

    assert client.get(draft.get_absolute_url()).status_code == 404


def test_a_draft_is_not_found_by_other_instructors(client):
    draft = CourseFactory(status=Course.Status.DRAFT)
    client.force_login(InstructorFactory())

    assert client.get(draft.get_absolute_url()).status_code == 404


def test_a_draft_is_shown_to_its_owner(client):
    draft = CourseFactory(status=Course.Status.DRAFT)
    client.force_login(draft.owner)

    assert client.get(draft.get_absolute_url()).status_code == 200


def test_the_course_page_runs_as_many_queries_for_30_modules_as_for_1(client):
    course = CourseFactory()
    client.force_login(UserFactory())
    ModuleFactory(course=course)
    # Both counted with the page's fragments built afresh.
    cache.clear()
    one = count_queries(client, course.get_absolute_url())
    ModuleFactory.create_batch(29, course=course)
    cache.clear()

    assert count_queries(client, course.get_absolute_url()) == one


# --- the overview as Markdown -------------------------------------------------------------------


OVERVIEW = "Learn **fast**.\n\n# Outline\n\n<script>alert(1)</script>"


def test_the_course_page_shows_its_overview_as_sanitised_markdown(client):
    course = CourseFactory(overview=OVERVIEW)

    html = client.get(course.get_absolute_url()).content.decode()

    assert "Learn <strong>fast</strong>." in html
    assert "<h2>Outline</h2>" in html
    assert "**fast**" not in html and "<script>alert" not in html


def test_the_catalogue_shows_each_overview_as_sanitised_markdown(client):
    CourseFactory(overview=OVERVIEW)

    html = client.get(reverse("course_list")).content.decode()

    assert "Learn <strong>fast</strong>." in html
    assert "<h3>Outline</h3>" in html
    assert "**fast**" not in html and "<script>alert" not in html
