"""Mentions: `@name` of a room's member recognised when a message is stored."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.mentions import mention_candidates
from chat.models import Mention
from chat.selectors import message_frame, message_list_for_room
from chat.services import MessageDraft, message_create_many, message_delete, message_edit
from courses.models import Course
from students.selectors import course_members_named, course_membership_refusals
from tests.chat.conftest import join, receive_type, say, send
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_an_at_sign_inside_a_word_is_no_mention():
    assert mention_candidates("write to bob@example.com") == set()


def test_a_name_is_recognised_without_the_punctuation_that_ends_a_sentence():
    assert "alice" in mention_candidates("ask @alice.")


def test_a_member_named_in_a_message_is_mentioned(course, alice, bob):
    message = say(course, bob, "@alice look at this")

    assert message_frame(message)["mentions"] == ["alice"]
    assert list(Mention.objects.values_list("user_id", "read_at")) == [(alice.pk, None)]


def test_the_instructor_alias_names_the_course_owner(course, alice):
    message = say(course, alice, "a question for @instructor")

    assert message_frame(message)["mentions"] == ["teacher"]
    assert Mention.objects.get().user == course.owner


def test_someone_outside_the_room_is_not_mentioned(course, alice):
    UserFactory(username="stranger")

    message = say(course, alice, "hello @stranger")

    assert message_frame(message)["mentions"] == []
    assert not Mention.objects.exists()


def test_naming_oneself_notifies_nobody(course, alice):
    message = say(course, alice, "note to @alice")

    assert message_frame(message)["mentions"] == ["alice"]
    assert Mention.objects.get().read_at is not None


def test_history_items_carry_the_mentions(course, alice, bob):
    say(course, bob, "@alice and @instructor")

    (message,) = message_list_for_room(course_id=course.pk).messages

    assert message_frame(message)["mentions"] == ["alice", "teacher"]


def test_a_deleted_message_mentions_nobody(course, alice, bob):
    message = say(course, bob, "@alice")
    deleted, _ = message_delete(actor=course.owner, course=course, message_id=message.pk)

    assert message_frame(deleted)["mentions"] == []


def test_an_edit_that_names_someone_new_mentions_them_and_unnames_the_other(course, alice, bob):
    carol = EnrollmentFactory(course=course, student__username="carol").student
    message = say(course, bob, "@alice look")

    edited = message_edit(actor=bob, course=course, message_id=message.pk, text="@carol look")

    assert message_frame(edited)["mentions"] == ["carol"]
    assert list(Mention.objects.values_list("user_id", "read_at")) == [(carol.pk, None)]


def test_an_edit_keeps_a_mention_still_named_as_it_was(course, alice, bob):
    message = say(course, bob, "@alice look")
    Mention.objects.update(read_at=message.created)

    edited = message_edit(actor=bob, course=course, message_id=message.pk, text="@alice see")

    assert message_frame(edited)["mentions"] == ["alice"]
    assert Mention.objects.get().read_at == message.created


def test_a_batch_resolves_members_once_and_inserts_mentions_once(course, alice, bob):
    other = CourseFactory(owner=course.owner)
    EnrollmentFactory(course=other, student=alice)
    drafts = [
        MessageDraft(author=bob, course_id=course.pk, text=f"@alice {i}") for i in range(5)
    ] + [MessageDraft(author=course.owner, course_id=other.pk, text="@alice @bob")]

    with CaptureQueriesContext(connection) as queries:
        message_create_many(drafts)

    mention_queries = [q["sql"] for q in queries if "chat_mention" in q["sql"]]
    member_queries = [q["sql"] for q in queries if "students_enrollment" in q["sql"]]
    assert len(mention_queries) == 1
    assert len(member_queries) == 1
    # bob is no member of the other course.
    assert Mention.objects.filter(user=alice).count() == 6
    assert not Mention.objects.filter(user=bob).exists()


def test_members_by_name_agree_with_the_membership_rule(course, alice):
    draft = CourseFactory(owner=course.owner, status=Course.Status.DRAFT)
    EnrollmentFactory(course=draft, student=alice)
    inactive = EnrollmentFactory(course=course, student__is_active=False).student
    names = {"alice", inactive.username, "teacher"}

    rows = course_members_named(course_ids=[course.pk, draft.pk], usernames=names)

    for course_id in (course.pk, draft.pk):
        named = {user_id for room, user_id, _, _ in rows if room == course_id}
        candidates = {alice.pk, inactive.pk, course.owner.pk}
        refused = course_membership_refusals(course_id=course_id, user_ids=candidates)
        assert named == candidates - refused.keys()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("chat_redis")
async def test_live_and_replayed_frames_carry_the_mentions(room):
    course, owner, students = room
    named = students[1].username
    sender = await join(course, students[0])
    await send(sender, message=f"@{named} hello", client_id="c-1")
    frame = await receive_type(sender, "message")
    resumed = await join(course, students[0], after=0)
    replayed = await receive_type(resumed, "message")

    assert frame["mentions"] == [named]
    assert replayed["mentions"] == [named]
    for communicator in (sender, resumed):
        await communicator.disconnect()
