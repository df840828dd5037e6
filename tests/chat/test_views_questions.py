"""Questions on the room page (?about=) and on the instructor's pages."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from chat.models import Message
from chat.services import message_create
from tests.factories import ContentFactory, CourseFactory, EnrollmentFactory, InstructorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def course():
    return CourseFactory(owner=InstructorFactory())


@pytest.fixture
def content(course):
    return ContentFactory(module__course=course, item__title="Loops & lists")


@pytest.fixture
def student(course):
    return EnrollmentFactory(course=course).student


def room_url(course, about=None) -> str:
    url = reverse("chat_room", args=[course.pk])
    return url if about is None else f"{url}?about={about}"


def chat_config(response) -> dict:
    page = response.content.decode()
    start = page.index('<script id="chat-config" type="application/json">') + 49
    return json.loads(page[start : page.index("</script>", start)])


def ask(course, author, content, text="Why?"):
    return message_create(author=author, course=course, text=text, about=content.pk)[0]


# --- the room page ----------------------------------------------------------------------------


def test_about_opens_the_room_with_the_question_bar_of_that_content(
    client, course, content, student
):
    client.force_login(student)

    response = client.get(room_url(course, content.pk))

    assert chat_config(response)["about"] == {"id": content.pk, "title": "Loops & lists"}
    assert "Loops &amp; lists" in response.content.decode()


@pytest.mark.parametrize("about", ["abc", "-1", "99999999999999999999", "1" * 5000, ""])
def test_an_about_that_is_no_content_id_opens_the_room_without_a_question(
    client, course, student, about
):
    client.force_login(student)

    response = client.get(room_url(course, about))

    assert response.status_code == 200
    assert chat_config(response)["about"] is None


def test_about_another_courses_content_opens_the_room_without_a_question(client, course, student):
    client.force_login(student)

    response = client.get(room_url(course, ContentFactory().pk))

    assert chat_config(response)["about"] is None


def test_the_room_page_knows_where_each_content_is_studied(client, course, content, student):
    client.force_login(student)

    links = chat_config(client.get(room_url(course)))["contentLinks"]

    study = reverse("student_course_detail_module", args=[course.pk, content.module_id])
    assert links == {str(content.pk): f"{study}#content-{content.pk}"}


# --- the instructor's pages -------------------------------------------------------------------


def test_the_instructor_home_shows_open_questions_with_the_oldest_ones_age(
    client, course, content, student
):
    oldest = ask(course, student, content)
    ask(course, student, content)
    Message.objects.filter(pk=oldest.pk).update(created=timezone.now() - timedelta(days=2))
    client.force_login(course.owner)

    page = client.get(reverse("instructor_home")).content.decode()

    assert "2 open questions, the oldest asked 2\xa0days ago" in page


def test_the_instructor_home_says_when_no_question_is_open(client, course):
    client.force_login(course.owner)

    page = client.get(reverse("instructor_home")).content.decode()

    assert "No open questions" in page


def test_a_modules_content_list_shows_each_contents_open_questions(
    client, course, content, student
):
    ask(course, student, content)
    client.force_login(course.owner)

    page = client.get(reverse("module_content_list", args=[content.module_id])).content.decode()

    assert "1 open question, asked 0\xa0minutes ago" in page
    assert f"?state=open&amp;content={content.pk}" in page
