"""The room page and the chat links in the navigation."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chat.models import ReadMarker
from chat.services import message_create, message_delete, message_edit, message_pin
from courses.models import Course
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory


@pytest.fixture
def course(db):
    return CourseFactory(owner=UserFactory())


@pytest.fixture
def student(course):
    return EnrollmentFactory(course=course).student


def room_url(course) -> str:
    return reverse("chat_room", args=[course.pk])


def test_the_room_url_is_under_chat():
    assert reverse("chat_room", args=[7]) == "/chat/room/7/"


def test_anonymous_visitors_are_sent_to_log_in(client, course):
    response = client.get(room_url(course))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_non_member_gets_403(client, course):
    client.force_login(UserFactory())
    assert client.get(room_url(course)).status_code == 403


def test_an_unknown_course_is_404(client, student):
    client.force_login(student)
    assert client.get("/chat/room/999999/").status_code == 404
    assert client.get("/chat/room/99999999999999999999999/").status_code == 404


def test_a_draft_courses_room_is_404_for_its_students(client, course, student):
    Course.objects.filter(pk=course.pk).update(status=Course.Status.DRAFT)
    client.force_login(student)
    assert client.get(room_url(course)).status_code == 404
    client.force_login(course.owner)
    assert client.get(room_url(course)).status_code == 200


def test_post_is_not_allowed(client, student, course):
    client.force_login(student)
    assert client.post(room_url(course)).status_code == 405


def test_the_page_renders_the_newest_fifty_messages_oldest_first(client, course, student):
    for index in range(60):
        message_create(author=student, course=course, text=f"message number {index + 1}")
    client.force_login(course.owner)
    response = client.get(room_url(course))
    assert response.status_code == 200
    html = response.content.decode()
    assert "message number 10<" not in html
    assert html.index("message number 11<") < html.index("message number 60<")
    assert [message.seq for message in response.context["history"]] == list(range(11, 61))
    config = json.loads(
        html.split('id="chat-config" type="application/json">')[1].split("</script>")[0]
    )
    assert config["lastSeq"] == 60
    assert config["hasMore"] is True
    assert config["socketPath"] == f"/ws/chat/room/{course.pk}/"


def test_the_page_costs_the_same_queries_for_one_or_fifty_messages(client, course, student):
    def queries_for_page():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(room_url(course)).status_code == 200
        return len(queries)

    client.force_login(student)
    message_create(author=student, course=course, text="first")
    queries_for_page()
    message_create(author=course.owner, course=course, text="second")
    with_two = queries_for_page()
    for index in range(50):
        author = student if index % 2 else UserFactory()
        if author is not student:
            EnrollmentFactory(course=course, student=author)
        message_create(author=author, course=course, text=f"m{index}")
    assert queries_for_page() == with_two


def test_user_text_is_escaped_on_the_page(client, course, student):
    message_create(author=student, course=course, text='<script>alert("x")</script>')
    client.force_login(course.owner)
    html = client.get(room_url(course)).content.decode()
    assert '<script>alert("x")</script>' not in html
    # Rendered as Markdown: the tag is text (quotes need no escaping inside an element).
    assert '<p>&lt;script&gt;alert("x")&lt;/script&gt;</p>' in html


def test_deleted_messages_and_deleted_users_are_labelled(client, course, student):
    gone, _ = message_create(author=student, course=course, text="withdrawn")
    message_create(author=student, course=course, text="kept")
    message_delete(actor=course.owner, course=course, message_id=gone.pk)
    student.delete()
    client.force_login(course.owner)
    html = client.get(room_url(course)).content.decode()
    assert "withdrawn" not in html
    assert "message deleted" in html
    assert "deleted user" in html


def test_opening_the_room_marks_its_messages_read(client, course, student):
    for _ in range(3):
        message_create(author=course.owner, course=course, text="news")
    client.force_login(student)
    client.get(room_url(course))
    assert ReadMarker.objects.get(user=student).last_read_seq == 3


def unread_badge(count: int) -> str:
    return f'<span class="unread">{count}<span class="visually-hidden"> unread</span></span>'


def test_the_navigation_has_one_chat_entry_with_the_total_unread_count(client, course, student):
    other = CourseFactory(owner=UserFactory(), title="Other course")
    EnrollmentFactory(course=other, student=student)
    for target, count in ((course, 4), (other, 2)):
        for _ in range(count):
            message_create(author=target.owner, course=target, text="unread")
    client.force_login(student)

    html = client.get(reverse("course_list")).content.decode()

    assert f'href="{reverse("chat_room_list")}">Chat {unread_badge(6)}</a>' in html
    assert f'href="{room_url(course)}"' not in html


def test_the_room_list_shows_each_room_with_its_unread_count(client, course, student):
    other = CourseFactory(owner=UserFactory(), title="Other course")
    EnrollmentFactory(course=other, student=student)
    for _ in range(3):
        message_create(author=course.owner, course=course, text="unread")
    client.force_login(student)

    html = client.get(reverse("chat_room_list")).content.decode()

    assert f'href="{room_url(course)}">{course.title}</a>\n        {unread_badge(3)}' in html
    assert f'href="{room_url(other)}">Other course</a>\n        <span class="muted">No' in html


def test_the_room_list_asks_anonymous_visitors_to_log_in(client):
    response = client.get(reverse("chat_room_list"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_room_shows_no_chat_message_as_a_site_notice(client, course, student):
    message_create(author=course.owner, course=course, text="welcome to the room")
    client.force_login(student)

    html = client.get(room_url(course)).content.decode()

    assert 'class="messages"' not in html
    assert "welcome to the room" in html


def test_the_page_loads_the_chat_script_without_inline_code(client, course, student):
    client.force_login(student)
    html = client.get(room_url(course)).content.decode()
    assert 'src="/static/js/chat.js"' in html
    assert "<script>" not in html


def test_the_room_link_tag_shows_a_courses_unread_count(course, student):
    from django.template import Context, Template

    from chat.selectors import course_list_for_chat

    for _ in range(2):
        message_create(author=course.owner, course=course, text="news")
    html = Template("{% load chat %}{% chat_room_link course %}").render(
        Context({"course": course, "chat_rooms": list(course_list_for_chat(user=student))})
    )
    assert f'href="{room_url(course)}"' in html
    assert unread_badge(2) in html


def test_my_courses_shows_each_rooms_unread_count_beside_the_course(client, course, student):
    for _ in range(3):
        message_create(author=course.owner, course=course, text="unread")
    client.force_login(student)
    html = client.get(reverse("student_course_list")).content.decode()
    # Once in the navigation's total, once on the course's card.
    assert html.count(unread_badge(3)) == 2


def test_the_page_shows_pins_edits_and_the_rev_its_socket_resumes_from(client, course, student):
    first, _ = message_create(author=student, course=course, text="pin me")
    second, _ = message_create(author=student, course=course, text="first draft")
    message_pin(actor=course.owner, course=course, message_id=first.pk, pinned=True)
    message_edit(actor=student, course=course, message_id=second.pk, text="second draft")
    client.force_login(student)

    html = client.get(room_url(course)).content.decode()

    pins = html.split('id="chat-pins-list">')[1].split("</ol>")[0]
    assert "pin me" in pins
    assert "draft" not in pins
    assert "(edited)" in html
    config = json.loads(
        html.split('id="chat-config" type="application/json">')[1].split("</script>")[0]
    )
    assert (config["lastSeq"], config["lastRev"]) == (2, 4)
    assert [frame["pinned"] for frame in config["history"]] == [True, False]
