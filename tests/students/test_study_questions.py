"""The study view's questions from the course chat: a link to ask, and each content's newest
questions with their answers, cached with the page and refreshed when they change."""

import pytest
from django.urls import reverse

from chat.services import message_create, question_answer
from tests.factories import ContentFactory, EnrollmentFactory, ModuleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrollment(client):
    enrollment = EnrollmentFactory()
    client.force_login(enrollment.student)
    return enrollment


@pytest.fixture
def content(enrollment):
    return ContentFactory(module__course=enrollment.course, item__title="Loops")


def study_url(content):
    module = content.module
    return reverse("student_course_detail_module", args=[module.course_id, module.pk])


def ask(content, author, text="Why loops?"):
    course = content.module.course
    return message_create(author=author, course=course, text=text, about=content.pk)[0]


def answer(content, question, text="To repeat."):
    course = content.module.course
    reply = message_create(author=course.owner, course=course, text=text)[0]
    question_answer(actor=course.owner, course=course, message_id=question.pk, answer_id=reply.pk)
    return reply


def test_each_content_links_to_the_room_to_ask_about_it(client, content):
    page = client.get(study_url(content)).content.decode()

    room = reverse("chat_room", args=[content.module.course_id])
    assert f'href="{room}?about={content.pk}"' in page


def test_a_cached_study_page_is_served_from_the_cache_while_questions_stay(
    client, enrollment, content
):
    ask(content, enrollment.student)
    client.get(study_url(content))  # the CSRF cookie
    client.get(study_url(content))

    again = client.get(study_url(content))

    assert "students/course/_study.html" not in [template.name for template in again.templates]


def test_a_content_shows_its_questions_with_their_answers(client, enrollment, content):
    question = ask(content, enrollment.student)
    answer(content, question)

    page = client.get(study_url(content)).content.decode()

    assert "<p>Why loops?</p>" in page
    assert "<p>To repeat.</p>" in page
    assert "Answered" in page


def test_a_content_shows_its_five_newest_questions_and_a_link_to_all(client, enrollment, content):
    for index in range(7):
        ask(content, enrollment.student, f"Question {index}")

    page = client.get(study_url(content)).content.decode()

    assert "Question 6" in page and "Question 2" in page
    assert "Question 1" not in page
    assert "See all 7 questions" in page


def test_questions_are_read_in_one_query_whatever_the_number_of_contents(
    client, enrollment, count_queries
):
    small = ModuleFactory(course=enrollment.course)
    large = ModuleFactory(course=enrollment.course)
    ask(ContentFactory(module=small), enrollment.student)
    for content in ContentFactory.create_batch(6, module=large):
        for _ in range(3):
            ask(content, enrollment.student)
    small_url = reverse("student_course_detail_module", args=[enrollment.course.pk, small.pk])
    large_url = reverse("student_course_detail_module", args=[enrollment.course.pk, large.pk])

    def measured(url):
        count_queries(url)  # the module's visit recorded: the second look reads only
        return count_queries(url)

    assert measured(small_url) == measured(large_url)


def test_a_cached_study_page_shows_a_new_question_at_once(
    client, enrollment, content, django_capture_on_commit_callbacks
):
    for _ in range(2):
        client.get(study_url(content))  # the CSRF cookie, then the page in the cache

    with django_capture_on_commit_callbacks(execute=True):
        ask(content, enrollment.student, "Asked since")

    assert "Asked since" in client.get(study_url(content)).content.decode()


def test_a_cached_study_page_shows_an_answer_marked_since(
    client, enrollment, content, django_capture_on_commit_callbacks
):
    question = ask(content, enrollment.student)
    for _ in range(2):
        client.get(study_url(content))

    with django_capture_on_commit_callbacks(execute=True):
        answer(content, question, "Answered since")

    assert "Answered since" in client.get(study_url(content)).content.decode()
