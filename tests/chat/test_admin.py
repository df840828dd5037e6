"""Chat models in the admin: browsable, and messages are never deleted, only tombstoned."""

import pytest
from django.contrib.auth.models import User

from chat.models import Message
from chat.services import member_mute, message_create, message_edit, read_marker_update
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory


@pytest.fixture
def staff_client(client, db):
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw-12345"))
    return client


@pytest.fixture
def chat_data(db):
    course = CourseFactory(owner=UserFactory())
    student = EnrollmentFactory(course=course).student
    message, _ = message_create(
        author=student, course=course, text="<b>hello</b> @" + course.owner.username
    )
    member_mute(actor=course.owner, course=course, username=student.username, minutes=5)
    read_marker_update(user=student, course_id=course.pk)
    return message


@pytest.mark.parametrize(
    "model", ["room", "message", "mute", "readmarker", "mention", "attachment"]
)
def test_each_chat_model_has_an_admin_list(staff_client, chat_data, model):
    response = staff_client.get(f"/admin/chat/{model}/")
    assert response.status_code == 200


def test_the_admin_cannot_delete_a_message(staff_client, chat_data):
    assert staff_client.get(f"/admin/chat/message/{chat_data.pk}/delete/").status_code == 403


def test_the_admin_tombstones_messages(staff_client, chat_data):
    response = staff_client.post(
        "/admin/chat/message/",
        {"action": "tombstone", "_selected_action": [chat_data.pk]},
    )
    assert response.status_code == 302
    chat_data.refresh_from_db()
    assert (chat_data.is_deleted, chat_data.text, chat_data.seq) == (True, "", 1)
    assert Message.objects.count() == 1


def test_the_admin_cannot_change_a_messages_html_or_what_it_answers(staff_client, chat_data):
    html = chat_data.html

    response = staff_client.post(
        f"/admin/chat/message/{chat_data.pk}/change/",
        {"html": "<script>alert(1)</script>", "reply_to": chat_data.pk},
    )

    assert response.status_code in (200, 302)
    chat_data.refresh_from_db()
    assert (chat_data.html, chat_data.reply_to_id) == (html, None)


def test_a_messages_page_shows_its_earlier_texts(staff_client, chat_data):
    course = chat_data.room.course
    message, _ = message_create(author=course.owner, course=course, text="<b>first</b>")
    message_edit(actor=course.owner, course=course, message_id=message.pk, text="second")

    page = staff_client.get(f"/admin/chat/message/{message.pk}/change/").content.decode()

    assert "&lt;b&gt;first&lt;/b&gt;" in page
    assert "second" in page


def test_a_messages_page_shows_what_it_asks_about_and_its_answer_without_fields(
    staff_client, chat_data
):
    # Editable, they would be selects listing every content and every message of the site.
    page = staff_client.get(f"/admin/chat/message/{chat_data.pk}/change/").content.decode()

    assert 'name="about"' not in page
    assert 'name="answer"' not in page
    assert 'name="about_title"' not in page
