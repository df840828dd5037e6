"""Changes to sent messages: revs, edits, reactions, pins and deletions, and their events."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat.events import room_group
from chat.models import Message, MessageEdit, Reaction, Room
from chat.selectors import (
    REACTION_EMOJI,
    message_frame,
    message_list_changed,
    message_updated_frame,
)
from chat.services import (
    MessageDraft,
    ReactionDraft,
    member_mute,
    message_create,
    message_create_many,
    message_delete,
    message_edit,
    message_pin,
    message_react,
    message_tombstone,
    room_changes_store,
)
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory


@pytest.fixture
def course(db):
    return CourseFactory(owner=UserFactory())


@pytest.fixture
def student(course):
    return EnrollmentFactory(course=course).student


@pytest.fixture
def other(course):
    return EnrollmentFactory(course=course).student


def create(course, author, text="hello"):
    return message_create(author=author, course=course, text=text)[0]


def error_code(call) -> str:
    with pytest.raises(ValidationError) as error:
        call()
    return error.value.code


def last_rev(course) -> int:
    return Room.objects.get(pk=course.pk).last_rev


# --- rev --------------------------------------------------------------------------------------


def test_each_new_message_takes_the_rooms_next_rev_with_its_seq(course, student):
    first, second = create(course, student), create(course, student)
    assert [(first.seq, first.rev), (second.seq, second.rev)] == [(1, 1), (2, 2)]
    assert last_rev(course) == 2


def test_a_batch_numbers_revs_in_the_same_locked_update_as_seqs(course, student):
    create(course, student)
    drafts = [MessageDraft(author=student, course_id=course.pk, text=str(i)) for i in range(5)]
    with CaptureQueriesContext(connection) as small:
        message_create_many(drafts[:1])
    with CaptureQueriesContext(connection) as large:
        message_create_many(drafts)
    assert len(large.captured_queries) == len(small.captured_queries)
    assert last_rev(course) == 7


def test_every_change_takes_the_next_rev_and_is_the_messages_rev(course, student):
    message = create(course, student)
    message_edit(actor=student, course=course, message_id=message.pk, text="edited")
    message_react(actor=student, course=course, message_id=message.pk, emoji="👍")
    message_pin(actor=course.owner, course=course, message_id=message.pk, pinned=True)
    message_delete(actor=course.owner, course=course, message_id=message.pk)
    message.refresh_from_db()
    assert (message.rev, last_rev(course)) == (5, 5)


def test_a_refused_change_leaves_no_gap_in_revs(course, student, other):
    message = create(course, student)
    error_code(lambda: message_edit(actor=other, course=course, message_id=message.pk, text="x"))
    message_pin(actor=course.owner, course=course, message_id=message.pk, pinned=False)
    assert last_rev(course) == 1
    message_react(actor=other, course=course, message_id=message.pk, emoji="🎉")
    assert last_rev(course) == 2


def test_changed_messages_are_listed_in_rev_order_up_to_a_seq(course, student):
    first, second, third = (create(course, student, str(i)) for i in range(3))
    message_edit(actor=student, course=course, message_id=second.pk, text="b")
    message_edit(actor=student, course=course, message_id=first.pk, text="a")
    message_edit(actor=student, course=course, message_id=third.pk, text="c")
    changed = message_list_changed(course_id=course.pk, upto_seq=2, after_rev=3)
    assert [message.text for message in changed] == ["b", "a"]


# --- edits ------------------------------------------------------------------------------------


def test_the_author_edits_and_the_earlier_text_is_kept(course, student):
    message = create(course, student, "frist")
    edited = message_edit(actor=student, course=course, message_id=message.pk, text=" first ")
    assert (edited.text, edited.edited_at is not None) == ("first", True)
    assert list(MessageEdit.objects.values_list("text", flat=True)) == ["frist"]


def test_another_member_cannot_edit(course, student, other):
    message = create(course, student)
    call = lambda: message_edit(actor=other, course=course, message_id=message.pk, text="x")  # noqa: E731
    assert error_code(call) == "forbidden"


def test_the_course_owner_cannot_edit_a_students_message(course, student):
    message = create(course, student)
    owner = course.owner
    call = lambda: message_edit(actor=owner, course=course, message_id=message.pk, text="x")  # noqa: E731
    assert error_code(call) == "forbidden"


def test_an_edit_after_the_window_is_refused(course, student, settings):
    settings.CHAT_EDIT_WINDOW = 60
    message = create(course, student)
    Message.objects.filter(pk=message.pk).update(created=timezone.now() - timedelta(seconds=61))
    call = lambda: message_edit(actor=student, course=course, message_id=message.pk, text="x")  # noqa: E731
    assert error_code(call) == "edit_window_closed"


@pytest.mark.parametrize(
    ("text", "code"), [("", "empty"), ("x" * 3000, "too_long"), (5, "invalid_frame")]
)
def test_a_bad_edit_text_is_refused(course, student, text, code):
    message = create(course, student)
    call = lambda: message_edit(actor=student, course=course, message_id=message.pk, text=text)  # noqa: E731
    assert error_code(call) == code


def test_editing_a_deleted_or_missing_message_is_not_found(course, student):
    message = create(course, student)
    message_delete(actor=student, course=course, message_id=message.pk)
    for message_id in (message.pk, message.pk + 1000):

        def call(message_id=message_id):
            return message_edit(actor=student, course=course, message_id=message_id, text="x")

        assert error_code(call) == "not_found"


def test_a_message_of_another_room_cannot_be_edited_from_this_one(course, student):
    elsewhere = CourseFactory(owner=student)
    message = create(elsewhere, student)
    call = lambda: message_edit(actor=student, course=course, message_id=message.pk, text="x")  # noqa: E731
    assert error_code(call) == "not_found"


def test_a_muted_author_cannot_edit(course, student):
    message = create(course, student)
    member_mute(actor=course.owner, course=course, username=student.username, minutes=5)
    call = lambda: message_edit(actor=student, course=course, message_id=message.pk, text="x")  # noqa: E731
    assert error_code(call) == "muted"


@pytest.fixture
def room_events(course, redis_channel_layer):
    """Receives the next `count` channel-layer events of the course's room group."""
    layer = get_channel_layer()
    listener = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(room_group(course.pk), listener)

    async def receive(count):
        return [await layer.receive(listener) for _ in range(count)]

    return lambda count: async_to_sync(receive)(count)


def test_an_edit_publishes_message_updated_after_commit(
    course, student, room_events, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = create(course, student)
        message_edit(actor=student, course=course, message_id=message.pk, text="new")
        # Stored, not yet broadcast: the message's event and the edit's wait for the commit.
        assert len(connection.run_on_commit) == 2
    created, event = room_events(2)
    assert created["type"] == "chat.messages"
    assert (event["type"], event["seq"], event["rev"]) == ("chat.updated", 1, 2)
    frame = event["frame"]
    assert (frame["type"], frame["message"], frame["edited_at"] is not None) == (
        "message.updated",
        "new",
        True,
    )


# --- reactions --------------------------------------------------------------------------------


def test_a_reaction_toggles_and_lists_who_reacted_in_order(course, student, other):
    message = create(course, student)
    message_react(actor=other, course=course, message_id=message.pk, emoji="👍")
    message_react(actor=student, course=course, message_id=message.pk, emoji="👍")
    reacted = message_react(actor=student, course=course, message_id=message.pk, emoji="🎉")
    assert message_frame(reacted)["reactions"] == {
        "👍": [other.username, student.username],
        "🎉": [student.username],
    }
    toggled = message_react(actor=other, course=course, message_id=message.pk, emoji="👍")
    assert message_frame(toggled)["reactions"] == {
        "👍": [student.username],
        "🎉": [student.username],
    }


@pytest.mark.parametrize("emoji", ["🦄", "", None, 1, ["👍"], "👍👍"])
def test_an_emoji_outside_the_set_is_refused(course, student, emoji):
    message = create(course, student)
    call = lambda: message_react(actor=student, course=course, message_id=message.pk, emoji=emoji)  # noqa: E731
    assert error_code(call) == "invalid_frame"


def test_the_set_has_twenty_distinct_emoji():
    assert len(set(REACTION_EMOJI)) == 20


def test_reacting_to_a_deleted_message_is_not_found(course, student):
    message = create(course, student)
    message_delete(actor=student, course=course, message_id=message.pk)
    call = lambda: message_react(actor=student, course=course, message_id=message.pk, emoji="👍")  # noqa: E731
    assert error_code(call) == "not_found"


def test_a_reaction_to_a_message_of_another_room_is_not_found(course, student):
    elsewhere = CourseFactory(owner=UserFactory())
    message = create(elsewhere, elsewhere.owner)
    call = lambda: message_react(actor=student, course=course, message_id=message.pk, emoji="👍")  # noqa: E731
    assert error_code(call) == "not_found"


def reaction(course, actor, message, emoji="👍") -> ReactionDraft:
    return ReactionDraft(actor=actor, course_id=course.pk, message_id=message.pk, emoji=emoji)


def test_a_batch_of_reactions_costs_the_same_queries_whatever_their_number(course, student):
    messages = [create(course, student, f"m{n}") for n in range(10)]
    members = [EnrollmentFactory(course=course).student for _ in range(3)]
    with CaptureQueriesContext(connection) as one:
        room_changes_store([], [reaction(course, members[0], messages[0], "🎉")])
    many = [reaction(course, member, message) for member in members for message in messages]
    with CaptureQueriesContext(connection) as thirty:
        room_changes_store([], many)
    assert len(thirty) == len(one)
    assert Reaction.objects.count() == 31


def test_each_message_a_batch_reacts_to_takes_one_rev(course, student, other):
    first, second = create(course, student, "first"), create(course, student, "second")
    _, reacted = room_changes_store(
        [],
        [
            reaction(course, other, first),
            reaction(course, student, first, "🎉"),
            reaction(course, other, second),
        ],
    )
    assert [message.rev for message in reacted] == [3, 3, 4]
    assert last_rev(course) == 4
    assert message_frame(reacted[1])["reactions"] == {
        "👍": [other.username],
        "🎉": [student.username],
    }


def test_a_reaction_toggled_twice_in_one_batch_is_off(course, student, other):
    message = create(course, student)
    _, (_, toggled_off) = room_changes_store([], [reaction(course, other, message)] * 2)
    assert message_frame(toggled_off)["reactions"] == {}
    assert not Reaction.objects.exists()
    assert last_rev(course) == 2


def test_a_batch_refuses_only_its_bad_reactions(course, student, other):
    message = create(course, student)
    bad_id = ReactionDraft(actor=other, course_id=course.pk, message_id="1", emoji="👍")
    _, (refused, stored, no_such) = room_changes_store(
        [],
        [
            bad_id,
            reaction(course, other, message),
            ReactionDraft(actor=other, course_id=course.pk, message_id=message.pk + 99, emoji="👍"),
        ],
    )
    assert (refused.code, no_such.code) == ("invalid_frame", "not_found")
    assert message_frame(stored)["reactions"] == {"👍": [other.username]}


def test_a_reaction_to_an_id_no_bigint_holds_is_not_found_and_the_batch_is_stored(
    course, student, other
):
    message = create(course, student)
    huge = ReactionDraft(actor=other, course_id=course.pk, message_id=2**63, emoji="👍")

    (stored,), (no_such, reacted) = room_changes_store(
        [MessageDraft(author=other, course_id=course.pk, text="kept")],
        [huge, reaction(course, other, message)],
    )

    assert no_such.code == "not_found"
    assert stored[0].text == "kept"
    assert message_frame(reacted)["reactions"] == {"👍": [other.username]}


def test_a_batch_publishes_one_event_per_room_new_messages_first(
    course, student, other, room_events, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        earlier = create(course, student, "earlier")
        room_changes_store(
            [MessageDraft(author=other, course_id=course.pk, text="new")],
            [reaction(course, other, earlier)],
        )
    _, event = room_events(2)
    assert event["type"] == "chat.messages"
    assert [(m["seq"], m["rev"], m["frame"]["type"]) for m in event["messages"]] == [
        (2, 2, "message")
    ]
    assert [(u["seq"], u["rev"], u["frame"]["type"]) for u in event["updates"]] == [
        (1, 3, "message.updated")
    ]
    assert event["updates"][0]["frame"]["reactions"] == {"👍": [other.username]}


# --- pins -------------------------------------------------------------------------------------


def test_the_owner_pins_and_unpins(course, student):
    message = create(course, student)
    pinned, changed = message_pin(
        actor=course.owner, course=course, message_id=message.pk, pinned=True
    )
    assert (message_frame(pinned)["pinned"], changed) == (True, True)
    unpinned, _ = message_pin(
        actor=course.owner, course=course, message_id=message.pk, pinned=False
    )
    assert message_frame(unpinned)["pinned"] is False


def test_a_member_cannot_pin(course, student):
    message = create(course, student)
    call = lambda: message_pin(actor=student, course=course, message_id=message.pk, pinned=True)  # noqa: E731
    assert error_code(call) == "forbidden"


def test_pinning_a_pinned_message_changes_nothing(course, student):
    message = create(course, student)
    message_pin(actor=course.owner, course=course, message_id=message.pk, pinned=True)
    _, changed = message_pin(actor=course.owner, course=course, message_id=message.pk, pinned=True)
    assert (changed, last_rev(course)) == (False, 2)


# --- deletion ---------------------------------------------------------------------------------


def test_a_deletion_erases_earlier_texts_reactions_and_the_pin(course, student):
    message = create(course, student)
    message_edit(actor=student, course=course, message_id=message.pk, text="x")
    message_react(actor=student, course=course, message_id=message.pk, emoji="👍")
    message_pin(actor=course.owner, course=course, message_id=message.pk, pinned=True)
    message_delete(actor=course.owner, course=course, message_id=message.pk)
    message.refresh_from_db()
    frame = message_updated_frame(message)
    assert (frame["deleted"], frame["reactions"], frame["pinned"], frame["message"]) == (
        True,
        {},
        False,
        None,
    )
    assert not MessageEdit.objects.exists()
    assert not Reaction.objects.exists()


def test_a_staff_tombstone_takes_a_rev_and_a_second_one_does_not(course, student):
    message = create(course, student)
    assert message_tombstone(message=message)
    assert not message_tombstone(message=message)
    assert last_rev(course) == 2


def test_the_updated_frame_carries_the_whole_state_in_its_fields(course, student):
    message = create(course, student, "<b>hi</b>")
    frame = message_updated_frame(message)
    assert list(frame) == [
        "type", "id", "seq", "rev", "message", "html", "deleted", "edited_at", "reply_to",
        "mentions", "reactions", "attachments", "pinned", "question", "user", "datetime",
    ]  # fmt: skip
    assert frame["html"] == "<p>&lt;b&gt;hi&lt;/b&gt;</p>"


def test_deleting_an_account_takes_back_its_reactions_under_a_new_rev(course, student, other):
    message = create(course, student)
    message_react(actor=other, course=course, message_id=message.pk, emoji="👍")
    message_react(actor=student, course=course, message_id=message.pk, emoji="👍")

    other.delete()

    message.refresh_from_db()
    assert message_frame(message)["reactions"] == {"👍": [student.username]}
    assert (message.rev, last_rev(course)) == (4, 4)
