"""Chat reads: history pages, unread counts, access re-checks."""

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from chat.models import Message
from chat.selectors import (
    chat_socket_refusal,
    course_list_for_chat,
    message_frame,
    message_list_between,
    message_list_for_room,
    room_access_refusals,
    room_last_seqs,
)
from chat.services import message_create, message_delete, read_marker_update
from courses.models import Course
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory


@pytest.fixture
def course(db):
    return CourseFactory(owner=UserFactory())


@pytest.fixture
def student(course):
    return EnrollmentFactory(course=course).student


def fill(course, author, count):
    return [message_create(author=author, course=course, text=f"m{i}")[0] for i in range(count)]


def seqs(page):
    return [message.seq for message in page.messages]


# --- history ----------------------------------------------------------------------------------


def test_history_gives_the_newest_page_oldest_first(course, student):
    fill(course, student, 5)
    page = message_list_for_room(course_id=course.pk, limit=3)
    assert (seqs(page), page.has_more) == ([3, 4, 5], True)


def test_history_before_pages_backwards(course, student):
    fill(course, student, 5)
    assert seqs(message_list_for_room(course_id=course.pk, before=3, limit=10)) == [1, 2]
    assert message_list_for_room(course_id=course.pk, before=3, limit=10).has_more is False


def test_history_after_pages_forwards(course, student):
    fill(course, student, 5)
    page = message_list_for_room(course_id=course.pk, after=1, limit=2)
    assert (seqs(page), page.has_more) == ([2, 3], True)
    page = message_list_for_room(course_id=course.pk, after=3, before=5, limit=10)
    assert (seqs(page), page.has_more) == ([4], False)


def test_history_returns_at_most_one_hundred(course, student):
    fill(course, student, 101)
    assert len(message_list_for_room(course_id=course.pk, limit=500).messages) == 100


def test_history_keeps_tombstones(course, student):
    first, _ = fill(course, student, 2)
    message_delete(actor=course.owner, course=course, message_id=first.pk)
    page = message_list_for_room(course_id=course.pk)
    assert [message.is_deleted for message in page.messages] == [True, False]


def test_history_reads_authors_in_the_same_query(course, student, django_assert_num_queries):
    fill(course, student, 20)
    with django_assert_num_queries(1):
        page = message_list_for_room(course_id=course.pk, limit=20)
        [message.user.username for message in page.messages]


def test_history_frames_with_replies_cost_one_query(course, student, django_assert_num_queries):
    originals = fill(course, course.owner, 10)
    for original in originals:
        message_create(author=student, course=course, text="re", reply_to=original.pk)
    with django_assert_num_queries(1):
        page = message_list_for_room(course_id=course.pk, limit=20)
        frames = [message_frame(message) for message in page.messages]
    assert [frame["reply_to"]["id"] for frame in frames[10:]] == [m.pk for m in originals]


def test_a_message_stored_before_rendering_existed_is_rendered_when_read(course, student):
    message, _ = message_create(author=student, course=course, text="*old*")
    Message.objects.filter(pk=message.pk).update(html=None)

    (stored,) = message_list_for_room(course_id=course.pk).messages

    assert message_frame(stored)["html"] == "<p><em>old</em></p>"


def test_a_reply_to_a_deleted_message_quotes_a_tombstone(course, student):
    original, _ = message_create(author=course.owner, course=course, text="secret")
    reply, _ = message_create(author=student, course=course, text="re", reply_to=original.pk)
    message_delete(actor=course.owner, course=course, message_id=original.pk)

    frame = message_frame(message_list_for_room(course_id=course.pk).messages[-1])

    assert frame["reply_to"] == {
        "id": original.pk, "seq": original.seq, "user": None, "excerpt": None, "deleted": True,
    }  # fmt: skip


def test_a_deleted_message_has_no_html_and_quotes_nothing(course, student):
    original, _ = message_create(author=course.owner, course=course, text="question")
    reply, _ = message_create(author=student, course=course, text="re", reply_to=original.pk)
    message_delete(actor=course.owner, course=course, message_id=reply.pk)

    frame = message_frame(message_list_for_room(course_id=course.pk).messages[-1])

    assert (frame["html"], frame["reply_to"], frame["message"]) == (None, None, None)


def test_history_of_one_room_never_shows_another(course, student):
    fill(course, student, 2)
    elsewhere = CourseFactory(owner=course.owner)
    fill(elsewhere, course.owner, 3)
    assert seqs(message_list_for_room(course_id=course.pk)) == [1, 2]


def test_messages_between_is_bounded(course, student):
    fill(course, student, 6)
    assert [m.seq for m in message_list_between(course_id=course.pk, after=2, upto=4)] == [3, 4]
    assert [m.seq for m in message_list_between(course_id=course.pk, after=4)] == [5, 6]


def test_last_seqs_of_several_rooms_in_one_query(course, student, django_assert_num_queries):
    fill(course, student, 3)
    empty = CourseFactory(owner=course.owner)
    with django_assert_num_queries(1):
        assert room_last_seqs(course_ids=[course.pk, empty.pk]) == {course.pk: 3, empty.pk: 0}


# --- rooms and unread counts ------------------------------------------------------------------


def test_a_user_has_the_rooms_they_own_or_study_in(course, student):
    other = CourseFactory(owner=UserFactory())
    EnrollmentFactory(course=other, student=course.owner)
    draft = CourseFactory(owner=UserFactory(), status=Course.Status.DRAFT)
    EnrollmentFactory(course=draft, student=student)
    CourseFactory(owner=UserFactory())
    assert set(course_list_for_chat(user=course.owner)) == {course, other}
    assert list(course_list_for_chat(user=student)) == [course]


def unread_counts(*, user) -> dict[int, int]:
    """Unread messages per room, as the navigation's course_list_for_chat reports them."""
    return {course.pk: course.unread for course in course_list_for_chat(user=user)}


def test_unread_counts_live_messages_of_others_above_the_read_marker(course, student):
    mine = fill(course, student, 2)
    theirs = fill(course, course.owner, 4)
    message_delete(actor=course.owner, course=course, message_id=theirs[0].pk)
    assert unread_counts(user=student) == {course.pk: 3}
    read_marker_update(user=student, course_id=course.pk, seq=theirs[1].seq)
    assert unread_counts(user=student) == {course.pk: 2}
    assert unread_counts(user=course.owner) == {course.pk: len(mine)}


def test_unread_counts_cost_one_query_for_any_number_of_rooms(
    course, student, django_assert_num_queries
):
    for _ in range(5):
        extra = CourseFactory(owner=UserFactory())
        EnrollmentFactory(course=extra, student=student)
        fill(extra, extra.owner, 2)
    with django_assert_num_queries(1):
        counts = unread_counts(user=student)
    assert sorted(counts.values()) == [0, 2, 2, 2, 2, 2]


def test_messages_of_a_deleted_user_count_as_unread(course, student):
    fill(course, student, 2)
    student.delete()
    assert unread_counts(user=course.owner) == {course.pk: 2}


# --- access re-checks -------------------------------------------------------------------------


def test_room_refusals_name_who_must_leave_and_why(course, student):
    stranger = UserFactory()
    inactive = EnrollmentFactory(course=course, student=UserFactory(is_active=False)).student
    refusals = room_access_refusals(
        course_id=course.pk, user_ids=[course.owner_id, student.pk, stranger.pk, inactive.pk]
    )
    assert refusals == {stranger.pk: 4403, inactive.pk: 4401}


def test_room_refusals_of_a_draft_keep_only_the_owner(course, student):
    Course.objects.filter(pk=course.pk).update(status=Course.Status.DRAFT)
    refusals = room_access_refusals(course_id=course.pk, user_ids=[course.owner_id, student.pk])
    assert refusals == {student.pk: 4404}


def test_room_refusals_of_a_deleted_course_are_all_not_found(course, student):
    course_id = course.pk
    course.delete()
    assert room_access_refusals(course_id=course_id, user_ids=[student.pk]) == {student.pk: 4404}


def test_a_socket_of_a_live_session_passes_its_recheck(course, student):
    client = Client()
    client.force_login(student)
    key = client.session.session_key
    refusal = chat_socket_refusal(
        user_id=student.pk, course_id=course.pk, session_key=key, token_key=None
    )
    assert refusal is None
    client.logout()
    refusal = chat_socket_refusal(
        user_id=student.pk, course_id=course.pk, session_key=key, token_key=None
    )
    assert refusal == 4401


def test_a_socket_of_a_deleted_token_fails_its_recheck(course, student):
    key = Token.objects.create(user=student).key

    def recheck():
        return chat_socket_refusal(
            user_id=student.pk, course_id=course.pk, session_key=None, token_key=key
        )

    assert recheck() is None
    Token.objects.filter(key=key).delete()
    assert recheck() == 4401
