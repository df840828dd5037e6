"""Notifications: a member's unread mentions, counted beside their rooms and listed by the API."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from chat.models import Mention
from chat.selectors import course_list_for_chat
from chat.services import message_delete, read_marker_update
from tests.chat.conftest import say
from tests.clients import logged_in
from tests.factories import CourseFactory, EnrollmentFactory

pytestmark = pytest.mark.django_db


def notifications(user) -> list[dict]:
    return logged_in(user).get("/api/me/notifications/").json()["results"]


def test_a_mention_is_a_notification_of_the_member_named(course, alice, bob):
    message = say(course, bob, "@alice are you there?")

    (notification,) = notifications(alice)

    assert notification["message"] == message.pk
    assert notification["user"] == "bob"
    assert notification["text"] == "@alice are you there?"
    assert notification["course"] == course.pk
    assert notification["url"] == f"/chat/room/{course.pk}/#seq-{message.seq}"
    assert notifications(bob) == []


def test_reading_the_room_past_a_mention_clears_it(course, alice, bob):
    say(course, bob, "@alice first")
    say(course, bob, "@alice second")

    read_marker_update(user=alice, course_id=course.pk, seq=1)

    assert [item["text"] for item in notifications(alice)] == ["@alice second"]


def test_clearing_all_notifications(course, alice, bob):
    say(course, bob, "@alice one")
    say(course, bob, "@alice two")

    response = logged_in(alice).post("/api/me/notifications/read/", {}, format="json")

    assert response.json() == {"read": 2}
    assert notifications(alice) == []


def test_clearing_some_notifications_leaves_the_others_and_those_of_other_users(course, alice, bob):
    say(course, bob, "@alice one")
    say(course, alice, "@bob two")
    say(course, bob, "@alice three")
    first, _ = Mention.objects.filter(user=alice).order_by("pk")
    of_bob = Mention.objects.get(user=bob)

    response = logged_in(alice).post(
        "/api/me/notifications/read/", {"ids": [first.pk, of_bob.pk]}, format="json"
    )

    assert response.json() == {"read": 1}
    assert [item["text"] for item in notifications(alice)] == ["@alice three"]
    assert len(notifications(bob)) == 1


def test_a_bad_list_of_ids_is_refused_with_a_message(alice):
    response = logged_in(alice).post("/api/me/notifications/read/", {"ids": "1"}, format="json")

    assert response.status_code == 400
    assert "ids" in response.json()["errors"]


def test_a_deleted_message_notifies_nobody(course, alice, bob):
    message = say(course, bob, "@alice oops")
    message_delete(actor=bob, course=course, message_id=message.pk)

    assert notifications(alice) == []


def test_a_room_left_no_longer_notifies(course, alice, bob):
    say(course, bob, "@alice hello")
    alice.enrollments.all().delete()

    assert notifications(alice) == []


def test_notifications_need_a_log_in():
    assert APIClient().get("/api/me/notifications/").status_code == 401


def test_the_room_list_counts_unread_mentions_per_room(course, alice, bob):
    other = CourseFactory(owner=course.owner)
    EnrollmentFactory(course=other, student=alice)
    say(course, bob, "@alice one")
    say(course, bob, "@alice two")
    say(course, bob, "no mention")

    counts = {room.pk: room.mentions for room in course_list_for_chat(user=alice)}

    assert counts == {course.pk: 2, other.pk: 0}


def test_the_notification_list_takes_a_fixed_number_of_queries(
    course, alice, bob, django_assert_max_num_queries
):
    for n in range(5):
        say(course, bob, f"@alice {n}")
    client = logged_in(alice)

    with django_assert_max_num_queries(4):
        assert client.get("/api/me/notifications/").json()["count"] == 5


def mentions_badge(count: int) -> str:
    label = "unread mention" if count == 1 else "unread mentions"
    return f'<span class="mentions">@{count}<span class="visually-hidden"> {label}</span></span>'


def test_the_navigation_shows_the_unread_mentions_beside_chat(client, course, alice, bob):
    say(course, bob, "@alice one")
    say(course, bob, "@alice two")
    client.force_login(alice)

    html = client.get(reverse("course_list")).content.decode()

    assert f"{mentions_badge(2)}</a>" in html


def test_the_room_list_shows_a_rooms_unread_mentions(client, course, alice, bob):
    say(course, bob, "@alice one")
    client.force_login(alice)

    html = client.get(reverse("chat_room_list")).content.decode()

    assert mentions_badge(1) in html


def test_my_courses_shows_the_unread_mentions_beside_the_room_link(client, course, alice, bob):
    say(course, bob, "@alice one")
    client.force_login(alice)

    html = client.get(reverse("student_course_list")).content.decode()

    assert f"{mentions_badge(1)}</a>" in html.split('class="chat-link"', 1)[1]


def test_opening_the_room_clears_its_mentions(client, course, alice, bob):
    say(course, bob, "@alice one")
    client.force_login(alice)

    client.get(reverse("chat_room", args=[course.pk]))

    assert notifications(alice) == []
