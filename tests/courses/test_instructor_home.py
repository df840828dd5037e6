"""The instructor's home: where log-in lands an instructor, their courses at a glance."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chat.services import message_create
from courses.models import Course
from tests.factories import (
    ContentCompletionFactory,
    ContentFactory,
    CourseFactory,
    EnrollmentFactory,
    InstructorFactory,
    ModuleFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PASSWORD = "an-analytical-engine"


def log_in(client, user):
    user.set_password(PASSWORD)
    user.save()
    return client.post(reverse("login"), {"username": user.username, "password": PASSWORD})


def test_the_instructor_home_is_at_instructor():
    assert reverse("instructor_home") == "/instructor/"


def test_an_instructor_lands_on_the_instructor_home_after_logging_in(client):
    response = log_in(client, InstructorFactory())

    assert response.status_code == 302
    assert response["Location"] == reverse("instructor_home")


def test_a_student_still_lands_on_their_courses_after_logging_in(client):
    response = log_in(client, UserFactory())

    assert response["Location"] == reverse("student_course_list")


def test_the_top_bar_links_the_instructor_home_for_instructors_only(client):
    link = f'<a href="{reverse("instructor_home")}">Teaching</a>'
    client.force_login(InstructorFactory())
    assert link in client.get(reverse("course_list")).content.decode()
    client.force_login(UserFactory())
    assert link not in client.get(reverse("course_list")).content.decode()


def test_each_course_shows_its_state_students_completion_and_unread_chat(client):
    owner = InstructorFactory()
    course = CourseFactory(owner=owner, title="Optics")
    CourseFactory(owner=owner, title="Acoustics", status=Course.Status.DRAFT)
    contents = [ContentFactory(module=ModuleFactory(course=course)) for _ in range(2)]
    done_all, done_none = (EnrollmentFactory(course=course).student for _ in range(2))
    for content in contents:
        ContentCompletionFactory(student=done_all, content=content)
    message_create(author=done_none, course=course, text="a question")
    message_create(author=done_none, course=course, text="another")
    client.force_login(owner)

    response = client.get(reverse("instructor_home"))

    rows = {row.title: row for row in response.context["courses"]}
    assert (rows["Optics"].status, rows["Acoustics"].status) == ("published", "draft")
    assert (rows["Optics"].student_count, rows["Optics"].completion) == (2, 50)
    assert (rows["Optics"].unread, rows["Acoustics"].unread) == (2, 0)
    html = response.content.decode()
    assert "2 unread" in html and "50&nbsp;%" in html
    assert f'href="{reverse("course_edit", args=[course.pk])}"' in html
    assert f'href="{reverse("course_create")}"' in html


def test_the_instructor_home_costs_the_same_queries_for_one_or_five_courses(client):
    owner = InstructorFactory()
    client.force_login(owner)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("instructor_home")).status_code == 200
        return len(captured)

    course = CourseFactory(owner=owner)
    EnrollmentFactory(course=course)
    one = queries()
    for _ in range(4):
        EnrollmentFactory(course=CourseFactory(owner=owner))

    assert queries() == one


def test_each_course_offers_to_publish_or_unpublish_and_to_delete(client):
    owner = InstructorFactory()
    published = CourseFactory(owner=owner)
    draft = CourseFactory(owner=owner, status=Course.Status.DRAFT)
    client.force_login(owner)

    html = client.get(reverse("instructor_home")).content.decode()

    assert f'action="{reverse("course_unpublish", args=[published.pk])}"' in html
    assert f'action="{reverse("course_publish", args=[draft.pk])}"' in html
    assert f'href="{reverse("course_delete", args=[draft.pk])}"' in html


def test_publishing_from_the_instructor_home_comes_back_to_it(client):
    draft = CourseFactory(status=Course.Status.DRAFT)
    client.force_login(draft.owner)

    response = client.post(reverse("course_publish", args=[draft.pk]))

    assert response["Location"] == reverse("instructor_home")
