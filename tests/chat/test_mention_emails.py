"""Mention e-mails: sent through a real SMTP server, after the delay, at most hourly per room."""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from chat.mention_emails import mention_emails_send
from chat.models import Message
from chat.services import message_create, message_delete, read_marker_update
from students.email_preferences import mention_emails_set, mention_emails_wanted
from tests.factories import CourseFactory, EnrollmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://educa.example.com"
    settings.CHAT_MENTION_EMAIL_DELAY = 600


def say(course, author, text, minutes_ago=11):
    message = message_create(author=author, course=course, text=text)[0]
    Message.objects.filter(pk=message.pk).update(
        created=timezone.now() - timedelta(minutes=minutes_ago)
    )
    return message


def body(message, subtype="plain") -> str:
    return message.get_body(preferencelist=(subtype,)).get_content()


def test_an_unread_mention_is_e_mailed_after_the_delay(smtp_server, course, alice, bob):
    say(course, bob, "@alice can you share your notes?")

    assert mention_emails_send() == 1

    (mail,) = smtp_server.messages
    assert mail["To"] == "alice@example.com"
    assert "Algebra" in mail["Subject"]
    assert "can you share your notes?" in body(mail)
    assert f"https://educa.example.com/chat/room/{course.pk}/#seq-1" in body(mail)
    assert "can you share your notes?" in body(mail, "html")


def test_a_mention_younger_than_the_delay_waits(smtp_server, course, alice, bob):
    say(course, bob, "@alice hi", minutes_ago=5)

    assert mention_emails_send() == 0
    assert smtp_server.messages == []


def test_a_mention_read_in_time_is_not_e_mailed(smtp_server, course, alice, bob):
    say(course, bob, "@alice hi")
    read_marker_update(user=alice, course_id=course.pk)

    assert mention_emails_send() == 0


def test_a_message_deleted_meanwhile_is_not_e_mailed(smtp_server, course, alice, bob):
    message = say(course, bob, "@alice oops")
    message_delete(actor=course.owner, course=course, message_id=message.pk)

    assert mention_emails_send() == 0
    assert smtp_server.messages == []


def test_sending_again_sends_nothing_twice(smtp_server, course, alice, bob):
    say(course, bob, "@alice hi")
    mention_emails_send()

    assert mention_emails_send() == 0
    assert len(smtp_server.messages) == 1


def test_one_e_mail_per_room_an_hour_at_most(smtp_server, course, alice, bob):
    say(course, bob, "@alice first", minutes_ago=20)
    mention_emails_send()
    say(course, bob, "@alice second")

    assert mention_emails_send() == 0
    assert mention_emails_send(now=timezone.now() + timedelta(minutes=61)) == 1

    assert "second" in body(smtp_server.messages[-1])
    assert "first" not in body(smtp_server.messages[-1])


def test_several_mentions_of_a_room_make_one_e_mail(smtp_server, course, alice, bob):
    say(course, bob, "@alice one")
    say(course, course.owner, "@alice two")

    assert mention_emails_send() == 1
    assert "one" in body(smtp_server.messages[0])
    assert "two" in body(smtp_server.messages[0])


def test_each_room_gets_its_own_e_mail(smtp_server, course, alice, bob):
    other = CourseFactory(owner=course.owner, title="Geometry")
    EnrollmentFactory(course=other, student=alice)
    say(course, bob, "@alice one")
    say(other, course.owner, "@alice two")

    assert mention_emails_send() == 2


def test_a_member_who_left_the_room_gets_no_e_mail(smtp_server, course, alice, bob):
    say(course, bob, "@alice hi")
    alice.enrollments.all().delete()

    assert mention_emails_send() == 0


def test_no_e_mail_after_turning_them_off(smtp_server, course, alice, bob):
    mention_emails_set(user=alice, enabled=False)
    say(course, bob, "@alice hi")

    assert mention_emails_send() == 0


def test_the_e_mail_text_is_escaped_in_the_html_part(smtp_server, course, alice, bob):
    say(course, bob, "@alice <script>alert(1)</script>")
    mention_emails_send()

    html = body(smtp_server.messages[0], "html")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def off_link(mail) -> str:
    return re.search(r"https://educa\.example\.com(/accounts/mention-emails/off/\S+/)", body(mail))[
        1
    ]


def test_the_e_mails_link_turns_them_off_with_a_button(client, smtp_server, course, alice, bob):
    say(course, bob, "@alice hi")
    mention_emails_send()
    link = off_link(smtp_server.messages[0])

    page = client.get(link)
    assert page.status_code == 200
    assert mention_emails_wanted(user=alice)

    done = client.post(link)
    assert done.status_code == 200
    assert not mention_emails_wanted(user=alice)


def test_a_forged_link_changes_nothing(client, alice):
    response = client.post(reverse("mention_emails_off", args=[f"{alice.pk}:forged"]))

    assert response.status_code == 400
    assert mention_emails_wanted(user=alice)


def test_the_profile_turns_mention_e_mails_off_and_on(client, alice):
    client.force_login(alice)
    fields = {"first_name": "", "last_name": "", "email": alice.email}

    client.post(reverse("profile"), fields)
    assert not mention_emails_wanted(user=alice)

    client.post(reverse("profile"), {**fields, "mention_emails": "on"})
    assert mention_emails_wanted(user=alice)


def test_the_command_sends_the_due_e_mails(smtp_server, course, alice, bob, capsys):
    say(course, bob, "@alice hi")

    call_command("send_mention_emails")

    assert "Sent 1 mention e-mail(s)." in capsys.readouterr().out
    assert len(smtp_server.messages) == 1
