"""The chat protocol, frame by frame, through the real ASGI routing and a real redis-server."""

import asyncio
import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.utils import timezone

from chat.models import Message, ReadMarker
from chat.services import message_create
from educa.db import BIGINT_MAX
from tests.chat.conftest import (
    close_code,
    join,
    open_socket,
    receive_type,
    receive_until,
    room_path,
    send,
    token_key_for,
)
from tests.factories import CourseFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("chat_redis")]


async def nothing_more(communicator, timeout=0.3):
    assert await communicator.receive_nothing(timeout=timeout)


# --- refusals ---------------------------------------------------------------------------------


async def test_anonymous_socket_is_accepted_then_closed_with_4401(room):
    course, _, _ = room
    communicator, connected, _ = await open_socket(room_path(course.pk))
    assert connected
    output = await communicator.receive_output(timeout=3)
    assert output == {"type": "websocket.close", "code": 4401}
    await communicator.disconnect()


async def test_a_socket_with_no_credential_and_no_origin_is_accepted_then_closed_with_4401(room):
    course, _, _ = room
    communicator, connected, _ = await open_socket(room_path(course.pk), origin=None)
    assert connected
    assert await close_code(communicator) == 4401
    await communicator.disconnect()


async def test_a_socket_with_no_credential_and_a_foreign_origin_is_refused_at_the_handshake(room):
    course, _, _ = room
    communicator, connected, _ = await open_socket(
        room_path(course.pk), origin="http://evil.example"
    )
    assert not connected
    await communicator.disconnect()


async def test_non_member_is_closed_with_4403(room):
    course, _, _ = room
    stranger = await database_sync_to_async(UserFactory)()
    communicator, connected, _ = await open_socket(room_path(course.pk), user=stranger)
    assert connected
    assert await close_code(communicator) == 4403
    await communicator.disconnect()


async def test_unknown_course_is_closed_with_4404(room):
    _, owner, _ = room
    communicator, connected, _ = await open_socket(room_path(999_999), user=owner)
    assert connected
    assert await close_code(communicator) == 4404
    await communicator.disconnect()


async def test_draft_course_is_closed_with_4404_for_its_students(room):
    course, _, students = room
    course.status = course.Status.DRAFT
    await database_sync_to_async(course.save)()
    communicator, _, _ = await open_socket(room_path(course.pk), user=students[0])
    assert await close_code(communicator) == 4404
    await communicator.disconnect()


async def test_cookie_socket_with_a_foreign_origin_is_refused_at_the_handshake(room):
    course, owner, _ = room
    communicator, connected, _ = await open_socket(
        room_path(course.pk), user=owner, origin="http://evil.example"
    )
    assert not connected
    await communicator.disconnect()


async def test_cookie_socket_without_origin_is_refused_at_the_handshake(room):
    course, owner, _ = room
    communicator, connected, _ = await open_socket(room_path(course.pk), user=owner, origin=None)
    assert not connected
    await communicator.disconnect()


async def test_token_socket_needs_no_origin(room):
    course, _, students = room
    token = await database_sync_to_async(token_key_for)(students[0])
    communicator, connected, _ = await open_socket(room_path(course.pk), token=token, origin=None)
    assert connected
    presence = await communicator.receive_json_from(timeout=3)
    assert presence == {"type": "presence", "online": [students[0].username]}
    await communicator.disconnect()


async def test_unknown_token_is_closed_with_4401(room):
    course, _, _ = room
    communicator, connected, _ = await open_socket(
        room_path(course.pk), token="0" * 40, origin=None
    )
    assert connected
    assert await close_code(communicator) == 4401
    await communicator.disconnect()


async def test_token_of_a_deactivated_user_is_closed_with_4401(room):
    course, _, students = room
    token = await database_sync_to_async(token_key_for)(students[0])
    students[0].is_active = False
    await database_sync_to_async(students[0].save)()
    communicator, _, _ = await open_socket(room_path(course.pk), token=token, origin=None)
    assert await close_code(communicator) == 4401
    await communicator.disconnect()


async def test_token_in_the_query_string_is_not_accepted(room):
    course, _, students = room
    token = await database_sync_to_async(token_key_for)(students[0])
    communicator, connected, _ = await open_socket(f"{room_path(course.pk)}?token={token}")
    assert connected
    assert await close_code(communicator) == 4401
    await communicator.disconnect()


async def test_other_authorization_schemes_are_not_accepted(room):
    course, _, students = room
    token = await database_sync_to_async(token_key_for)(students[0])
    communicator, _, _ = await open_socket(
        room_path(course.pk), origin=None, headers=[(b"authorization", f"Bearer {token}".encode())]
    )
    assert await close_code(communicator) == 4401
    await communicator.disconnect()


async def test_unknown_websocket_path_is_closed_with_4404(room):
    _, owner, _ = room
    communicator, connected, _ = await open_socket("/ws/nothing/here/", user=owner)
    assert connected
    assert await close_code(communicator) == 4404
    await communicator.disconnect()


async def test_a_socket_over_the_per_user_limit_is_closed_with_4429(room, settings):
    settings.CHAT_MAX_SOCKETS_PER_USER = 2
    course, owner, _ = room
    first = await join(course, owner)
    second = await join(course, owner)
    third, connected, _ = await open_socket(room_path(course.pk), user=owner)
    assert connected
    assert await close_code(third) == 4429
    for communicator in (first, second, third):
        await communicator.disconnect()


async def test_closing_a_socket_frees_its_place_under_the_limit(room, settings):
    settings.CHAT_MAX_SOCKETS_PER_USER = 1
    course, owner, _ = room
    first = await join(course, owner)
    await first.disconnect()
    second = await join(course, owner)
    await second.disconnect()


# --- messages ---------------------------------------------------------------------------------


async def test_a_message_reaches_every_member_and_acknowledges_the_sender(room):
    course, owner, students = room
    sender = await join(course, students[0])
    others = [await join(course, owner), await join(course, students[1])]
    await send(sender, message="Hello, room")
    frames = [await receive_type(communicator, "message") for communicator in [sender, *others]]
    assert all(frame == frames[0] for frame in frames)
    frame = frames[0]
    assert frame["seq"] == 1
    assert frame["message"] == "Hello, room"
    assert frame["user"] == students[0].username
    assert frame["client_id"] is None
    assert frame["deleted"] is False
    assert frame["datetime"].endswith("Z")
    stored = await database_sync_to_async(Message.objects.get)(pk=frame["id"])
    assert stored.text == "Hello, room"
    for communicator in [sender, *others]:
        await communicator.disconnect()


async def test_seq_numbers_each_rooms_messages_from_one(room):
    course, owner, _ = room
    other_course = await database_sync_to_async(CourseFactory)(owner=owner)
    first = await join(course, owner)
    second = await join(other_course, owner)
    for text in ("a", "b", "c"):
        await send(first, message=text)
    await send(second, message="elsewhere")
    seqs = [(await receive_type(first, "message"))["seq"] for _ in range(3)]
    assert seqs == [1, 2, 3]
    assert (await receive_type(second, "message"))["seq"] == 1
    await first.disconnect()
    await second.disconnect()


async def test_typed_message_frame_echoes_its_client_id(room):
    course, owner, _ = room
    communicator = await join(course, owner)
    await send(communicator, type="message", message="hi", client_id="c-1")
    frame = await receive_type(communicator, "message")
    assert frame["client_id"] == "c-1"
    await communicator.disconnect()


async def test_a_resend_of_a_message_the_socket_has_is_stored_once_and_not_sent_again(room):
    course, owner, students = room
    sender = await join(course, students[0])
    other = await join(course, owner)
    await send(sender, message="once", client_id="same")
    await receive_type(sender, "message")
    await receive_type(other, "message")
    await send(sender, message="once", client_id="same")
    # The sender has that seq already: its answer is nothing.
    await nothing_more(sender, timeout=1.0)
    await nothing_more(other)
    assert await database_sync_to_async(Message.objects.count)() == 1
    await sender.disconnect()
    await other.disconnect()


async def test_a_resend_from_a_socket_opened_after_the_message_gets_the_stored_message(room):
    course, owner, _ = room
    first_socket = await join(course, owner)
    await send(first_socket, message="once", client_id="same")
    stored = await receive_type(first_socket, "message")
    await first_socket.disconnect()
    second_socket = await join(course, owner)
    await send(second_socket, message="once", client_id="same")
    assert await receive_type(second_socket, "message") == stored
    await second_socket.disconnect()


async def test_message_text_is_trimmed(room):
    course, owner, _ = room
    communicator = await join(course, owner)
    await send(communicator, message="  padded \n")
    assert (await receive_type(communicator, "message"))["message"] == "padded"
    await communicator.disconnect()


async def test_xss_payload_arrives_as_the_same_inert_text(room):
    course, owner, students = room
    payload = '<img src=x onerror="alert(1)"><script>alert(2)</script>&lt;'
    sender = await join(course, students[0])
    reader = await join(course, owner)
    await send(sender, message=payload)
    frame = await receive_type(reader, "message")
    # Exactly the text in `message`; `html` shows its tags as text (an entity stays one, as
    # Markdown has it), with nothing that could run.
    assert frame["message"] == payload
    assert frame["html"] == (
        '<p>&lt;img src=x onerror="alert(1)"&gt;&lt;script&gt;alert(2)&lt;/script&gt;&lt;</p>'
    )
    await sender.disconnect()
    await reader.disconnect()


async def test_a_reply_reaches_the_room_with_its_html_and_its_quote(room):
    course, owner, students = room
    question, _ = await database_sync_to_async(message_create)(
        author=owner, course=course, text="Any **questions**?"
    )
    sender = await join(course, students[0])
    reader = await join(course, owner)

    await send(sender, message="Yes: https://example.org", reply_to=question.pk)

    frame = await receive_type(reader, "message")
    assert frame["html"] == (
        '<p>Yes: <a href="https://example.org" target="_blank" rel="noopener nofollow ugc">'
        "https://example.org</a></p>"
    )
    assert frame["reply_to"] == {
        "id": question.pk, "seq": 1, "user": owner.username, "excerpt": "Any questions?",
        "deleted": False,
    }  # fmt: skip
    await sender.disconnect()
    await reader.disconnect()


async def test_a_reply_to_a_message_of_another_room_is_not_found(room):
    course, owner, _ = room
    other = await database_sync_to_async(CourseFactory)(owner=owner)
    elsewhere, _ = await database_sync_to_async(message_create)(
        author=owner, course=other, text="elsewhere"
    )
    communicator = await join(course, owner)

    await send(communicator, message="hi", reply_to=elsewhere.pk, client_id="r1")

    error = await receive_type(communicator, "error")
    assert (error["code"], error["client_id"]) == ("not_found", "r1")
    await communicator.disconnect()


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "invalid_json"),
        ("[1, 2]", "invalid_frame"),
        ('{"type": "dance"}', "invalid_frame"),
        ('{"type": "message"}', "invalid_frame"),
        ('{"message": 42}', "invalid_frame"),
        ('{"message": "x", "client_id": 7}', "invalid_frame"),
        ('{"message": "x", "reply_to": "7"}', "invalid_frame"),
        ('{"message": "x", "reply_to": 0}', "invalid_frame"),
        ('{"message": "nul \\u0000 char"}', "invalid_frame"),
        ('{"message": "lone \\ud800 surrogate"}', "invalid_frame"),
        ('{"message": "   "}', "empty"),
    ],
)
async def test_a_bad_frame_gets_an_error_and_the_socket_stays_open(room, raw, code):
    course, owner, _ = room
    communicator = await join(course, owner)
    await communicator.send_to(text_data=raw)
    error = await receive_type(communicator, "error")
    assert error["code"] == code
    assert error["detail"]
    await send(communicator, type="ping")
    assert await receive_type(communicator, "pong") == {"type": "pong"}
    await communicator.disconnect()


async def test_a_binary_frame_is_an_invalid_frame(room):
    course, owner, _ = room
    communicator = await join(course, owner)
    await communicator.send_to(bytes_data=b"\x00\x01")
    assert (await receive_type(communicator, "error"))["code"] == "invalid_frame"
    await communicator.disconnect()


async def test_an_error_carries_the_frames_client_id(room):
    course, owner, _ = room
    communicator = await join(course, owner)
    await send(communicator, message="", client_id="abc")
    error = await receive_type(communicator, "error")
    assert (error["code"], error["client_id"]) == ("empty", "abc")
    await communicator.disconnect()


async def test_a_message_over_the_length_limit_is_too_long(room, settings):
    settings.CHAT_MAX_LENGTH = 10
    course, owner, _ = room
    communicator = await join(course, owner)
    await send(communicator, message="x" * 11)
    assert (await receive_type(communicator, "error"))["code"] == "too_long"
    await send(communicator, message="x" * 10)
    assert (await receive_type(communicator, "message"))["message"] == "x" * 10
    await communicator.disconnect()


async def test_messages_over_the_rate_are_refused_and_not_stored(room, settings):
    settings.CHAT_RATE_LIMIT = "3/10s"
    course, owner, _ = room
    communicator = await join(course, owner)
    for index in range(4):
        await send(communicator, message=f"m{index}")
    frames = await receive_until(communicator, lambda frame: frame["type"] == "error")
    assert [frame["seq"] for frame in frames if frame["type"] == "message"] == [1, 2, 3]
    assert frames[-1]["code"] == "rate_limited"
    assert await database_sync_to_async(Message.objects.count)() == 3
    await communicator.disconnect()


async def test_the_rate_limit_is_shared_by_a_users_sockets(room, settings):
    settings.CHAT_RATE_LIMIT = "2/10s"
    course, owner, _ = room
    first = await join(course, owner)
    second = await join(course, owner)
    await send(first, message="one")
    await send(first, message="two")
    await receive_until(first, lambda frame: frame.get("seq") == 2)
    await send(second, message="three")
    assert (await receive_type(second, "error"))["code"] == "rate_limited"
    await first.disconnect()
    await second.disconnect()


async def test_a_socket_over_its_frame_budget_is_closed_with_4429(room, settings):
    settings.CHAT_FRAME_BUDGET = "5/10s"
    course, owner, _ = room
    communicator = await join(course, owner)
    for _ in range(5):
        await send(communicator, type="ping")
    for _ in range(5):
        await receive_type(communicator, "pong")
    # Invalid frames count too.
    await communicator.send_to(text_data="garbage")
    assert await close_code(communicator) == 4429
    await communicator.disconnect()


async def test_a_message_the_database_refuses_is_unavailable_and_can_be_resent(room):
    course, owner, students = room
    sender = await join(course, students[0])
    other = await join(course, owner)

    def refuse_inserts(on: bool):
        with connection.cursor() as cursor:
            if on:
                cursor.execute(
                    "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'storage unavailable'; END $$ LANGUAGE plpgsql;"
                    "CREATE TRIGGER refuse BEFORE INSERT ON chat_message "
                    "FOR EACH ROW EXECUTE FUNCTION refuse();"
                )
            else:
                cursor.execute("DROP TRIGGER refuse ON chat_message; DROP FUNCTION refuse();")

    await database_sync_to_async(refuse_inserts)(True)
    try:
        await send(sender, message="important", client_id="k1")
        error = await receive_type(sender, "error")
    finally:
        await database_sync_to_async(refuse_inserts)(False)
    assert (error["code"], error["client_id"]) == ("unavailable", "k1")
    await nothing_more(other)
    await send(sender, message="important", client_id="k1")
    assert (await receive_type(other, "message"))["seq"] == 1
    await send(sender, message="important", client_id="k1")
    await receive_type(sender, "message")
    assert await database_sync_to_async(Message.objects.count)() == 1
    await sender.disconnect()
    await other.disconnect()


# --- history ----------------------------------------------------------------------------------


async def add_messages(course, user, count):
    def create():
        from chat.services import message_create

        for index in range(count):
            message_create(author=user, course=course, text=f"message {index + 1}")

    await database_sync_to_async(create)()


async def test_history_pages_backwards_oldest_first(room):
    course, owner, _ = room
    await add_messages(course, owner, 5)
    communicator = await join(course, owner)
    await send(communicator, type="history", before=5, limit=2)
    page = await receive_type(communicator, "history")
    assert [frame["seq"] for frame in page["messages"]] == [3, 4]
    assert page["has_more"] is True
    await send(communicator, type="history", before=3, limit=10)
    page = await receive_type(communicator, "history")
    assert [frame["seq"] for frame in page["messages"]] == [1, 2]
    assert page["has_more"] is False
    await communicator.disconnect()


async def test_history_without_before_returns_the_newest(room):
    course, owner, _ = room
    await add_messages(course, owner, 3)
    communicator = await join(course, owner)
    await send(communicator, type="history", limit=2)
    page = await receive_type(communicator, "history")
    assert [frame["seq"] for frame in page["messages"]] == [2, 3]
    await communicator.disconnect()


async def test_history_with_after_fills_a_gap_forwards(room):
    course, owner, _ = room
    await add_messages(course, owner, 4)
    communicator = await join(course, owner)
    await send(communicator, type="history", after=1, limit=2)
    page = await receive_type(communicator, "history")
    assert [frame["seq"] for frame in page["messages"]] == [2, 3]
    assert page["has_more"] is True
    await communicator.disconnect()


@pytest.mark.parametrize(
    "frame",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": "10"},
        {"limit": True},
        {"before": 0},
        {"before": "x"},
        {"after": -1},
    ],
)
async def test_history_with_bad_bounds_is_an_invalid_frame(room, frame):
    course, owner, _ = room
    communicator = await join(course, owner)
    await send(communicator, type="history", **frame)
    assert (await receive_type(communicator, "error"))["code"] == "invalid_frame"
    await communicator.disconnect()


async def test_history_returns_at_most_one_hundred(room):
    course, owner, _ = room
    await add_messages(course, owner, 120)
    communicator = await join(course, owner)
    await send(communicator, type="history", limit=100)
    page = await receive_type(communicator, "history")
    assert len(page["messages"]) == 100
    assert page["messages"][0]["seq"] == 21
    await communicator.disconnect()


# --- resume -----------------------------------------------------------------------------------


async def test_after_replays_every_later_message_in_order(room):
    course, owner, _ = room
    await add_messages(course, owner, 5)
    communicator = await join(course, owner, after=2)
    frames = [await receive_type(communicator, "message") for _ in range(3)]
    assert [frame["seq"] for frame in frames] == [3, 4, 5]
    await nothing_more(communicator)
    await communicator.disconnect()


async def test_a_socket_resuming_while_the_room_talks_gets_every_message_once_in_order(room):
    course, owner, (student, _) = room
    # More than one replay batch, so live messages arrive while the replay is still reading.
    await add_messages(course, owner, 600)
    talker = await join(course, owner)

    async def talk():
        for index in range(20):
            await send(talker, message=f"live {index}")

    talking = asyncio.create_task(talk())
    resumer = await join(course, student, after=0)
    seqs = [(await receive_type(resumer, "message"))["seq"] for _ in range(620)]
    await talking
    assert seqs == list(range(1, 621))
    await nothing_more(resumer)
    await resumer.disconnect()
    await talker.disconnect()


async def test_without_after_nothing_old_is_replayed(room):
    course, owner, _ = room
    await add_messages(course, owner, 3)
    communicator = await join(course, owner)
    await nothing_more(communicator)
    await send(communicator, message="new")
    assert (await receive_type(communicator, "message"))["seq"] == 4
    await communicator.disconnect()


async def test_after_beyond_the_rooms_end_continues_from_the_end(room):
    course, owner, _ = room
    await add_messages(course, owner, 2)
    communicator = await join(course, owner, after=50)
    await send(communicator, message="next")
    assert (await receive_type(communicator, "message"))["seq"] == 3
    await communicator.disconnect()


@pytest.mark.parametrize("after", ["abc", "-1", "1.5", str(BIGINT_MAX + 1), "9" * 5000])
async def test_an_after_that_is_not_a_seq_is_an_invalid_frame_and_the_socket_stays_open(
    room, after
):
    course, owner, _ = room
    path = f"{room_path(course.pk)}?after={after}"
    communicator, connected, _ = await open_socket(path, user=owner)
    assert connected
    frames = await receive_until(communicator, lambda frame: frame["type"] == "error")
    assert frames[0]["type"] == "presence"
    assert frames[-1]["code"] == "invalid_frame"
    await send(communicator, type="ping")
    await receive_type(communicator, "pong")
    await communicator.disconnect()


async def test_replay_during_live_traffic_sees_every_seq_exactly_once(room, settings):
    settings.CHAT_RATE_LIMIT = settings.CHAT_FRAME_BUDGET = "1000/10s"
    course, owner, students = room
    await add_messages(course, owner, 150)
    sender = await join(course, students[0])
    total = 150 + 60

    async def talk():
        for index in range(60):
            await send(sender, message=f"live {index}")
            await asyncio.sleep(0.005)

    talking = asyncio.create_task(talk())
    await asyncio.sleep(0.05)
    reader = await join(course, owner, after=10)
    seqs = []
    while len(seqs) < total - 10:
        frame = await reader.receive_json_from(timeout=5)
        if frame["type"] == "message":
            seqs.append(frame["seq"])
    await talking
    assert seqs == list(range(11, total + 1))
    await nothing_more(reader)
    await sender.disconnect()
    await reader.disconnect()


# --- typing, ping, read -----------------------------------------------------------------------


async def test_typing_reaches_the_others_but_not_the_typist(room):
    course, owner, students = room
    typist = await join(course, students[0])
    other = await join(course, owner)
    await send(typist, type="typing")
    assert await receive_type(other, "typing") == {"type": "typing", "user": students[0].username}
    await send(typist, type="ping")
    frames = await receive_until(typist, lambda frame: frame["type"] == "pong")
    assert [frame["type"] for frame in frames if frame["type"] == "typing"] == []
    assert await database_sync_to_async(Message.objects.count)() == 0
    await typist.disconnect()
    await other.disconnect()


async def test_ping_is_answered_with_pong(room):
    course, owner, _ = room
    communicator = await join(course, owner)
    await send(communicator, type="ping")
    assert await communicator.receive_json_from(timeout=3) == {"type": "pong"}
    await communicator.disconnect()


async def test_read_frame_moves_the_read_marker(room):
    course, owner, students = room
    await add_messages(course, owner, 3)
    communicator = await join(course, students[0])
    await send(communicator, type="read", seq=2)
    await send(communicator, type="ping")
    await receive_type(communicator, "pong")
    marker = await database_sync_to_async(ReadMarker.objects.get)(user=students[0])
    assert marker.last_read_seq == 2
    await communicator.disconnect()


# --- delete -----------------------------------------------------------------------------------


async def test_the_owner_deletes_any_message_and_everyone_is_told(room):
    course, owner, students = room
    author = await join(course, students[0])
    instructor = await join(course, owner)
    await send(author, message="regrettable")
    frame = await receive_type(instructor, "message")
    await send(instructor, type="delete", id=frame["id"])
    expected = {"type": "message.deleted", "id": frame["id"], "seq": frame["seq"], "rev": 2}
    assert await receive_type(author, "message.deleted") == expected
    assert await receive_type(instructor, "message.deleted") == expected
    await author.disconnect()
    await instructor.disconnect()


async def test_a_deleted_message_stays_as_a_tombstone_in_history_and_resume(room):
    course, owner, _ = room
    await add_messages(course, owner, 2)
    communicator = await join(course, owner)
    first = await database_sync_to_async(Message.objects.get)(seq=1)
    await send(communicator, type="delete", id=first.pk)
    await receive_type(communicator, "message.deleted")
    await send(communicator, type="history", limit=10)
    page = await receive_type(communicator, "history")
    tombstone = page["messages"][0]
    assert (tombstone["seq"], tombstone["deleted"], tombstone["message"]) == (1, True, None)
    assert page["messages"][1]["deleted"] is False
    resumed = await join(course, owner, after=0)
    assert (await receive_type(resumed, "message"))["deleted"] is True
    await communicator.disconnect()
    await resumed.disconnect()


async def test_an_author_deletes_their_own_recent_message(room):
    course, _, students = room
    communicator = await join(course, students[0])
    await send(communicator, message="oops")
    frame = await receive_type(communicator, "message")
    await send(communicator, type="delete", id=frame["id"])
    assert (await receive_type(communicator, "message.deleted"))["id"] == frame["id"]
    await communicator.disconnect()


async def test_an_author_cannot_delete_after_the_window(room):
    course, _, students = room
    communicator = await join(course, students[0])
    await send(communicator, message="old news")
    frame = await receive_type(communicator, "message")
    await database_sync_to_async(Message.objects.filter(pk=frame["id"]).update)(
        created=timezone.now() - timedelta(minutes=6)
    )
    await send(communicator, type="delete", id=frame["id"])
    assert (await receive_type(communicator, "error"))["code"] == "forbidden"
    await communicator.disconnect()


async def test_a_student_cannot_delete_someone_elses_message(room):
    course, owner, students = room
    await add_messages(course, owner, 1)
    communicator = await join(course, students[0])
    message = await database_sync_to_async(Message.objects.get)()
    await send(communicator, type="delete", id=message.pk)
    assert (await receive_type(communicator, "error"))["code"] == "forbidden"
    await communicator.disconnect()


@pytest.mark.parametrize(("message_id", "code"), [(999_999, "not_found"), ("1", "invalid_frame")])
async def test_deleting_an_unknown_or_malformed_id_is_refused(room, message_id, code):
    course, owner, _ = room
    communicator = await join(course, owner)
    await send(communicator, type="delete", id=message_id)
    assert (await receive_type(communicator, "error"))["code"] == code
    await communicator.disconnect()


async def test_a_message_of_another_room_cannot_be_deleted_from_this_one(room):
    course, owner, _ = room
    other_course = await database_sync_to_async(CourseFactory)(owner=owner)
    await add_messages(other_course, owner, 1)
    message = await database_sync_to_async(Message.objects.get)()
    communicator = await join(course, owner)
    await send(communicator, type="delete", id=message.pk)
    assert (await receive_type(communicator, "error"))["code"] == "not_found"
    await communicator.disconnect()


# --- mute -------------------------------------------------------------------------------------


async def test_a_muted_member_cannot_send_and_everyone_is_told(room):
    course, owner, students = room
    instructor = await join(course, owner)
    student = await join(course, students[0])
    await send(instructor, type="mute", user=students[0].username, minutes=5)
    told = await receive_type(student, "member.muted")
    assert told["user"] == students[0].username
    assert told["until"].endswith("Z")
    assert (await receive_type(instructor, "member.muted")) == told
    await send(student, message="let me speak", client_id="m1")
    error = await receive_type(student, "error")
    assert (error["code"], error["client_id"]) == ("muted", "m1")
    await nothing_more(instructor)
    await instructor.disconnect()
    await student.disconnect()


async def test_a_muted_senders_refusal_carries_the_end_of_the_mute_as_data(room):
    course, owner, students = room
    instructor = await join(course, owner)
    student = await join(course, students[0])
    await send(instructor, type="mute", user=students[0].username, minutes=5)
    told = await receive_type(student, "member.muted")

    await send(student, message="let me speak", client_id="m1")
    error = await receive_type(student, "error")

    assert error["until"] == told["until"]
    assert error["detail"] == "You are muted in this room."
    await instructor.disconnect()
    await student.disconnect()


async def test_only_the_owner_may_mute(room):
    course, _, students = room
    communicator = await join(course, students[0])
    await send(communicator, type="mute", user=students[1].username, minutes=5)
    assert (await receive_type(communicator, "error"))["code"] == "forbidden"
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("target", "minutes", "code"),
    [
        ("nobody-here", 5, "not_found"),
        ("student", 0, "invalid_frame"),
        ("student", 1441, "invalid_frame"),
        ("student", "5", "invalid_frame"),
        ("owner", 5, "forbidden"),
    ],
)
async def test_bad_mutes_are_refused(room, target, minutes, code):
    course, owner, students = room
    username = {"student": students[0].username, "owner": owner.username}.get(target, target)
    communicator = await join(course, owner)
    await send(communicator, type="mute", user=username, minutes=minutes)
    assert (await receive_type(communicator, "error"))["code"] == code
    await communicator.disconnect()


async def test_a_non_member_cannot_be_muted(room):
    course, owner, _ = room
    stranger = await database_sync_to_async(UserFactory)()
    communicator = await join(course, owner)
    await send(communicator, type="mute", user=stranger.username, minutes=5)
    assert (await receive_type(communicator, "error"))["code"] == "not_found"
    await communicator.disconnect()


async def test_the_owner_unmutes_a_member_who_may_then_speak_and_everyone_is_told(room):
    course, owner, students = room
    instructor = await join(course, owner)
    student = await join(course, students[0])
    await send(instructor, type="mute", user=students[0].username, minutes=5)
    await receive_type(student, "member.muted")
    await send(instructor, type="unmute", user=students[0].username)
    told = await receive_type(student, "member.unmuted")
    assert told == {"type": "member.unmuted", "user": students[0].username}
    assert (await receive_type(instructor, "member.unmuted")) == told
    await send(student, message="thank you", client_id="m1")
    assert (await receive_type(student, "message"))["message"] == "thank you"
    await instructor.disconnect()
    await student.disconnect()


async def test_only_the_owner_may_unmute(room):
    course, owner, students = room
    instructor = await join(course, owner)
    await send(instructor, type="mute", user=students[1].username, minutes=5)
    await receive_type(instructor, "member.muted")
    communicator = await join(course, students[0])
    await send(communicator, type="unmute", user=students[1].username)
    assert (await receive_type(communicator, "error"))["code"] == "forbidden"
    await communicator.disconnect()
    await instructor.disconnect()


@pytest.mark.parametrize("target", ["nobody-here", "student", 7])
async def test_unmuting_someone_not_muted_is_not_found(room, target):
    course, owner, students = room
    username = students[0].username if target == "student" else target
    communicator = await join(course, owner)
    await send(communicator, type="unmute", user=username)
    assert (await receive_type(communicator, "error"))["code"] == "not_found"
    await communicator.disconnect()


async def test_a_muted_members_typing_reaches_nobody(room):
    course, owner, students = room
    instructor = await join(course, owner)
    typist = await join(course, students[0])
    await send(instructor, type="mute", user=students[0].username, minutes=5)
    await receive_type(typist, "member.muted")
    await receive_type(instructor, "member.muted")
    await send(typist, type="typing")
    await nothing_more(instructor, timeout=1.0)
    await typist.disconnect()
    await instructor.disconnect()


# --- presence ---------------------------------------------------------------------------------


async def test_presence_snapshot_comes_first_and_includes_the_joiner(room):
    course, owner, students = room
    first = await join(course, owner)
    communicator, _, _ = await open_socket(room_path(course.pk), user=students[0])
    snapshot = await communicator.receive_json_from(timeout=3)
    assert snapshot == {
        "type": "presence",
        "online": sorted([owner.username, students[0].username]),
    }
    await first.disconnect()
    await communicator.disconnect()


async def test_others_see_a_person_join_and_leave_once_whatever_their_tabs(room):
    course, owner, students = room
    watcher = await join(course, owner)
    tab1 = await join(course, students[0])
    assert await receive_type(watcher, "presence.join") == {
        "type": "presence.join",
        "user": students[0].username,
    }
    tab2 = await join(course, students[0])
    await nothing_more(watcher)
    await tab1.disconnect()
    await nothing_more(watcher)
    await tab2.disconnect()
    assert await receive_type(watcher, "presence.leave") == {
        "type": "presence.leave",
        "user": students[0].username,
    }
    await watcher.disconnect()


async def test_frames_are_json_text(room):
    course, owner, _ = room
    communicator = await join(course, owner)
    await send(communicator, type="ping")
    output = await communicator.receive_output(timeout=3)
    assert json.loads(output["text"]) == {"type": "pong"}
    await communicator.disconnect()


# --- numbers ----------------------------------------------------------------------------------

TOO_BIG = [str(BIGINT_MAX + 1), "9" * 5000]


@pytest.mark.parametrize("number", TOO_BIG)
@pytest.mark.parametrize(
    "frame",
    [
        '{"type": "history", "before": %s}',
        '{"type": "history", "after": %s}',
        '{"type": "history", "limit": %s}',
        '{"type": "delete", "id": %s}',
        '{"type": "read", "seq": %s}',
        '{"type": "mute", "user": "someone", "minutes": %s}',
    ],
)
async def test_a_number_beyond_a_bigint_is_an_invalid_frame_and_the_socket_stays_open(
    room, frame, number
):
    course, owner, _ = room
    communicator = await join(course, owner)
    await communicator.send_to(text_data=frame % number)
    assert (await receive_type(communicator, "error"))["code"] == "invalid_frame"
    await send(communicator, type="ping")
    await receive_type(communicator, "pong")
    await communicator.disconnect()
