"""Chat writes: numbering, idempotency, deletion, mutes, read markers, events after commit."""

import threading
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat.events import room_group
from chat.models import Message, Mute, ReadMarker, Room
from chat.services import (
    MessageDraft,
    member_mute,
    message_create,
    message_create_many,
    message_delete,
    message_tombstone,
    read_marker_update,
)
from educa.db import rows_insert
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory


@pytest.fixture
def course(db):
    return CourseFactory(owner=UserFactory())


@pytest.fixture
def student(course):
    return EnrollmentFactory(course=course).student


def create(course, author, text="hello", **kwargs):
    return message_create(author=author, course=course, text=text, **kwargs)


def error_code(call) -> str:
    with pytest.raises(ValidationError) as error:
        call()
    return error.value.code


# --- message_create ---------------------------------------------------------------------------


def test_messages_are_numbered_from_one_in_each_room(course, student):
    other = CourseFactory(owner=course.owner)
    seqs = [create(course, student)[0].seq for _ in range(3)]
    assert seqs == [1, 2, 3]
    assert create(other, course.owner)[0].seq == 1
    assert Room.objects.get(pk=course.pk).last_seq == 3


def test_a_rolled_back_message_gives_its_seq_back(course, student):
    create(course, student)
    with pytest.raises(RuntimeError), transaction.atomic():
        create(course, student, "never stored")
        raise RuntimeError
    assert create(course, student, "next")[0].seq == 2


def test_a_client_id_stores_a_message_once(course, student, django_capture_on_commit_callbacks):
    first, created = create(course, student, client_id="c-1")
    with django_capture_on_commit_callbacks() as callbacks:
        again, created_again = create(course, student, "different text", client_id="c-1")
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert again.text == "hello"
    assert callbacks == []
    assert Message.objects.count() == 1


def test_the_same_client_id_from_another_user_is_another_message(course, student):
    create(course, student, client_id="c-1")
    assert create(course, course.owner, client_id="c-1")[1] is True


def test_text_is_stored_trimmed(course, student):
    assert create(course, student, "  hi  \n")[0].text == "hi"


@pytest.mark.parametrize(
    ("text", "code"),
    [("", "empty"), (" \n\t", "empty"), ("x" * 2001, "too_long"), (None, "invalid_frame")],
)
def test_invalid_text_is_refused(course, student, text, code):
    assert error_code(lambda: create(course, student, text)) == code
    assert Message.objects.count() == 0


def test_the_length_limit_is_a_setting(course, student, settings):
    settings.CHAT_MAX_LENGTH = 5
    assert error_code(lambda: create(course, student, "123456")) == "too_long"
    assert create(course, student, "12345")[1] is True


def test_a_muted_member_cannot_post_until_the_mute_ends(course, student):
    member_mute(actor=course.owner, course=course, username=student.username, minutes=1)
    assert error_code(lambda: create(course, student)) == "muted"
    Mute.objects.update(until=timezone.now() - timedelta(seconds=1))
    assert create(course, student)[1] is True


# --- message_create_many (group commit) --------------------------------------------------------


def draft(course, author, text="hello", client_id=None):
    return MessageDraft(author=author, course_id=course.pk, text=text, client_id=client_id)


def test_a_batch_numbers_each_room_gaplessly_in_draft_order(course, student):
    other = CourseFactory(owner=course.owner)
    create(course, student)
    results = message_create_many(
        [draft(course, student, "a"), draft(other, course.owner, "b"), draft(course, student, "c")]
    )
    assert [(message.room_id, message.seq, message.text) for message, _ in results] == [
        (course.pk, 2, "a"),
        (other.pk, 1, "b"),
        (course.pk, 3, "c"),
    ]
    assert Room.objects.get(pk=course.pk).last_seq == 3


def test_a_batch_costs_the_same_queries_whatever_its_size(course, student):
    def queries(size: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            message_create_many([draft(course, student, str(n)) for n in range(size)])
        return len(captured)

    create(course, student)
    assert queries(2) == queries(50)
    assert Message.objects.filter(room_id=course.pk).count() == 53


def test_a_refused_draft_does_not_stop_the_rest_of_its_batch(course, student):
    results = message_create_many(
        [draft(course, student, "  "), draft(course, student, "kept"), draft(course, student, 7)]
    )
    assert [getattr(result, "code", None) for result in results] == ["empty", None, "invalid_frame"]
    assert results[1][0].seq == 1


def test_a_muted_author_is_refused_and_the_others_in_the_batch_are_stored(course, student):
    member_mute(actor=course.owner, course=course, username=student.username, minutes=1)
    muted, stored = message_create_many([draft(course, student), draft(course, course.owner)])
    assert muted.code == "muted"
    assert stored[0].seq == 1


def test_a_client_id_repeated_in_one_batch_stores_one_message(course, student):
    first, again = message_create_many(
        [draft(course, student, "once", "same"), draft(course, student, "twice", "same")]
    )
    assert first[1] is True
    assert again == (first[0], False)
    assert Message.objects.filter(room_id=course.pk).count() == 1


def test_a_batch_finds_its_resends_through_the_client_id_index_however_long_the_room(
    course, student
):
    create(course, student, client_id="c-0")
    # A long history: reading all of it would cost the planner more than the index's probes.
    stored = [
        (course.pk, seq, seq, student.pk, "old", f"c-{seq}", timezone.now(), "[]", False, "")
        for seq in range(2, 30_002)
    ]
    columns = ["room", "seq", "rev", "user", "text", "client_id", "created", "reactions",
               "has_attachments", "about_title"]  # fmt: skip
    rows_insert(Message, columns, stored)
    Room.objects.filter(pk=course.pk).update(last_seq=30_001, last_rev=30_001)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE chat_message")
    drafts = [draft(course, student, "again", f"c-{n}") for n in range(50)]

    with CaptureQueriesContext(connection) as captured:
        message_create_many([*drafts, draft(course, course.owner, "new", "c-1")])

    # The batch's first read of messages is the lookup (the resends found are read after it).
    lookup = next(q["sql"] for q in captured if q["sql"].startswith('SELECT "id" FROM'))
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {lookup}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "chat_message_client_id_unique" in plan
    assert "Seq Scan on chat_message" not in plan


# --- formatting and replies -------------------------------------------------------------------


def test_a_message_is_stored_with_its_rendered_html(course, student):
    message, _ = create(course, student, "**bold** https://example.org")

    message.refresh_from_db()
    assert message.text == "**bold** https://example.org"
    assert message.html.startswith('<p><strong>bold</strong> <a href="https://example.org"')


def test_a_reply_is_stored_with_the_message_it_answers(course, student):
    original, _ = create(course, course.owner, "the question")

    reply, _ = create(course, student, "the answer", reply_to=original.pk)

    reply.refresh_from_db()
    assert reply.reply_to_id == original.pk


def test_a_reply_to_a_message_of_another_room_is_not_found(course, student):
    other = CourseFactory(owner=course.owner)
    elsewhere, _ = create(other, course.owner, "elsewhere")

    assert error_code(lambda: create(course, student, "hi", reply_to=elsewhere.pk)) == "not_found"
    assert not Message.objects.filter(room_id=course.pk).exists()


def test_a_reply_to_an_unknown_message_is_not_found(course, student):
    assert error_code(lambda: create(course, student, "hi", reply_to=10**12)) == "not_found"


@pytest.mark.parametrize("reply_to", ["1", 1.0, True, 0, -1, 2**63, [1], {"id": 1}])
def test_a_reply_to_that_is_no_message_id_is_an_invalid_frame(course, student, reply_to):
    assert error_code(lambda: create(course, student, "hi", reply_to=reply_to)) == "invalid_frame"


def test_replies_in_a_batch_cost_the_same_queries_whatever_its_size(course, student):
    originals = [create(course, course.owner, f"question {n}")[0] for n in range(50)]

    def queries(size: int) -> int:
        drafts = [
            MessageDraft(author=student, course_id=course.pk, text="a", reply_to=original.pk)
            for original in originals[:size]
        ]
        with CaptureQueriesContext(connection) as captured:
            results = message_create_many(drafts)
        assert all(created for _, created in results)
        return len(captured)

    assert queries(2) == queries(50)


@pytest.fixture
def room_events(course, redis_channel_layer):
    """Receives the channel-layer events of the course's room group."""
    layer = get_channel_layer()
    listener = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(room_group(course.pk), listener)
    return lambda: async_to_sync(layer.receive)(listener)


def test_a_batch_publishes_one_event_per_room_after_commit(
    course, student, room_events, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message_create_many([draft(course, student, "one"), draft(course, student, "two")])
    assert len(callbacks) == 1
    event = room_events()
    assert [(item["seq"], item["frame"]["message"]) for item in event["messages"]] == [
        (1, "one"),
        (2, "two"),
    ]


def test_the_event_is_published_only_after_commit(
    course, student, room_events, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message, _ = create(course, student, "after commit")
        # Stored, not yet broadcast: the broadcast waits for the commit.
        assert len(connection.run_on_commit) == 1
    assert len(callbacks) == 1
    event = room_events()
    assert event["type"] == "chat.messages"
    (published,) = event["messages"]
    assert (published["seq"], published["frame"]["message"]) == (message.seq, "after commit")


def test_the_event_carries_the_html_and_the_quoted_reply(
    course, student, room_events, django_capture_on_commit_callbacks
):
    original, _ = create(course, course.owner, "Read *chapter 2*")
    with django_capture_on_commit_callbacks(execute=True):
        reply, _ = create(course, student, "**done**", reply_to=original.pk)
    (published,) = room_events()["messages"]

    assert published["frame"]["html"] == "<p><strong>done</strong></p>"
    assert published["frame"]["reply_to"] == {
        "id": original.pk,
        "seq": original.seq,
        "user": course.owner.username,
        "excerpt": "Read chapter 2",
        "deleted": False,
    }


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_get_gapless_unique_seqs():
    course = CourseFactory(owner=UserFactory())
    authors = [EnrollmentFactory(course=course).student for _ in range(4)]
    errors = []

    def write(author):
        try:
            for index in range(10):
                create(course, author, f"{author.username} {index}")
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(author,)) for author in authors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert list(Message.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, 41))
    # Each author's messages are numbered in the order they were written.
    for author in authors:
        texts = list(
            Message.objects.filter(user=author).order_by("seq").values_list("text", flat=True)
        )
        assert texts == [f"{author.username} {index}" for index in range(10)]


# --- message_delete ---------------------------------------------------------------------------


def test_the_owner_deletes_any_message_leaving_a_tombstone(course, student):
    message, _ = create(course, student, "regret")
    deleted, changed = message_delete(actor=course.owner, course=course, message_id=message.pk)
    assert changed is True
    message.refresh_from_db()
    assert (message.text, message.is_deleted, message.seq) == ("", True, 1)


def test_a_deleted_message_keeps_no_html(course, student):
    message, _ = create(course, student, "**regret**")

    message_delete(actor=course.owner, course=course, message_id=message.pk)

    message.refresh_from_db()
    assert message.html == ""


def test_deleting_a_tombstone_again_changes_nothing(
    course, student, django_capture_on_commit_callbacks
):
    message, _ = create(course, student)
    message_delete(actor=course.owner, course=course, message_id=message.pk)
    with django_capture_on_commit_callbacks() as callbacks:
        _, changed = message_delete(actor=course.owner, course=course, message_id=message.pk)
    assert changed is False
    assert callbacks == []


def test_an_author_deletes_their_message_within_the_window_only(course, student, settings):
    settings.CHAT_DELETE_WINDOW = 60
    recent, _ = create(course, student)
    old, _ = create(course, student)
    Message.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(seconds=61))
    assert message_delete(actor=student, course=course, message_id=recent.pk)[1] is True
    assert error_code(lambda: message_delete(actor=student, course=course, message_id=old.pk)) == (
        "forbidden"
    )


def test_a_member_cannot_delete_another_members_message(course, student):
    message, _ = create(course, course.owner)
    call = lambda: message_delete(actor=student, course=course, message_id=message.pk)  # noqa: E731
    assert error_code(call) == "forbidden"


def test_deleting_a_message_of_another_room_is_not_found(course, student):
    elsewhere = CourseFactory(owner=course.owner)
    message, _ = create(elsewhere, course.owner)
    call = lambda: message_delete(actor=course.owner, course=course, message_id=message.pk)  # noqa: E731
    assert error_code(call) == "not_found"


def test_staff_tombstone_publishes_the_deletion_after_commit(
    course, student, django_capture_on_commit_callbacks
):
    message, _ = create(course, student)
    with django_capture_on_commit_callbacks() as callbacks:
        assert message_tombstone(message=message) is True
    assert len(callbacks) == 1


# --- member_mute ------------------------------------------------------------------------------


def test_the_owner_mutes_a_member_and_a_new_mute_replaces_the_old(course, student):
    first = member_mute(actor=course.owner, course=course, username=student.username, minutes=5)
    second = member_mute(actor=course.owner, course=course, username=student.username, minutes=60)
    assert Mute.objects.count() == 1
    assert second.until - first.until > timedelta(minutes=50)


@pytest.mark.parametrize(
    ("who", "username", "minutes", "code"),
    [
        ("student", "student", 5, "forbidden"),
        ("owner", "owner", 5, "forbidden"),
        ("owner", "ghost", 5, "not_found"),
        ("owner", "student", 0, "invalid_frame"),
        ("owner", "student", 1441, "invalid_frame"),
        ("owner", "student", True, "invalid_frame"),
        ("owner", None, 5, "not_found"),
    ],
)
def test_bad_mutes_are_refused(course, student, who, username, minutes, code):
    names = {"student": student.username, "owner": course.owner.username}
    actor = course.owner if who == "owner" else student
    call = lambda: member_mute(  # noqa: E731
        actor=actor, course=course, username=names.get(username, username), minutes=minutes
    )
    assert error_code(call) == code


# --- read markers -----------------------------------------------------------------------------


def test_the_read_marker_only_moves_forward_and_not_past_the_end(course, student):
    for _ in range(5):
        create(course, course.owner)
    read_marker_update(user=student, course_id=course.pk, seq=3)
    read_marker_update(user=student, course_id=course.pk, seq=2)
    assert ReadMarker.objects.get(user=student).last_read_seq == 3
    read_marker_update(user=student, course_id=course.pk, seq=99)
    assert ReadMarker.objects.get(user=student).last_read_seq == 5
    read_marker_update(user=student, course_id=course.pk)
    assert ReadMarker.objects.get(user=student).last_read_seq == 5


def test_a_read_marker_for_a_room_without_messages_is_a_no_op(course, student):
    read_marker_update(user=student, course_id=course.pk, seq=3)
    assert ReadMarker.objects.count() == 0


# --- deletions elsewhere ----------------------------------------------------------------------


def test_deleting_a_course_deletes_its_room_messages_mutes_and_markers(course, student):
    create(course, student)
    member_mute(actor=course.owner, course=course, username=student.username, minutes=5)
    read_marker_update(user=student, course_id=course.pk, seq=1)
    course.delete()
    assert (Room.objects.count(), Message.objects.count()) == (0, 0)
    assert (Mute.objects.count(), ReadMarker.objects.count()) == (0, 0)


def test_deleting_a_user_keeps_their_messages_as_a_deleted_users(course, student):
    from chat.selectors import message_frame

    message, _ = create(course, student, "still here")
    member_mute(actor=course.owner, course=course, username=student.username, minutes=5)
    student.delete()
    message.refresh_from_db()
    assert (message.user, message.text) == (None, "still here")
    assert message_frame(message)["user"] is None
    assert Mute.objects.count() == 0


def test_deleting_the_owner_deletes_the_course_and_its_chat(course, student):
    create(course, course.owner)
    create(course, student)
    course.owner.delete()
    assert Message.objects.count() == 0
