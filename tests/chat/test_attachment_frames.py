"""Message frames that carry attachments, through the real ASGI routing and a real redis-server."""

import pytest
from channels.db import database_sync_to_async

from chat.models import Attachment, Message
from chat.services import attachment_create
from tests.chat.conftest import join, receive_type, send
from tests.courses.uploads import png_upload, upload
from tests.factories import CourseFactory, EnrollmentFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("chat_redis")]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()


@database_sync_to_async
def uploaded(user, course, name="p.png"):
    data = png_upload(name) if name.endswith(".png") else upload(name, b"data")
    return attachment_create(uploader=user, course=course, upload=data)


async def test_an_attachment_reaches_every_member_with_the_message(room):
    course, owner, students = room
    attachment = await uploaded(students[0], course)
    sender, other = await join(course, students[0]), await join(course, owner)

    await send(sender, message="look", attachments=[attachment.pk])

    frames = [await receive_type(communicator, "message") for communicator in (sender, other)]
    assert frames[0] == frames[1]
    (described,) = frames[0]["attachments"]
    assert described["id"] == attachment.pk
    assert described["thumbnail_url"] == f"/chat/attachments/{attachment.pk}/thumbnail/"
    stored = await database_sync_to_async(Attachment.objects.get)(pk=attachment.pk)
    assert stored.message_id == frames[0]["id"]
    await sender.disconnect()
    await other.disconnect()


async def test_a_message_of_attachments_alone_needs_no_text(room):
    course, _, students = room
    attachment = await uploaded(students[0], course, "notes.txt")
    sender = await join(course, students[0])

    await send(sender, message="", attachments=[attachment.pk])

    frame = await receive_type(sender, "message")
    assert frame["message"] == ""
    assert [item["name"] for item in frame["attachments"]] == ["notes.txt"]
    await sender.disconnect()


async def test_another_members_upload_cannot_be_attached(room):
    course, _, students = room
    attachment = await uploaded(students[1], course)
    sender = await join(course, students[0])

    await send(sender, message="mine now", attachments=[attachment.pk], client_id="c")

    error = await receive_type(sender, "error")
    assert (error["code"], error["client_id"]) == ("not_found", "c")
    assert not await database_sync_to_async(Message.objects.exists)()
    await sender.disconnect()


async def test_an_attachment_already_carried_cannot_be_attached_again(room):
    course, _, students = room
    attachment = await uploaded(students[0], course)
    sender = await join(course, students[0])
    await send(sender, message="first", attachments=[attachment.pk])
    await receive_type(sender, "message")

    await send(sender, message="again", attachments=[attachment.pk])

    assert (await receive_type(sender, "error"))["code"] == "not_found"
    await sender.disconnect()


async def test_an_upload_to_another_room_cannot_be_attached(room):
    course, _, students = room
    elsewhere = await database_sync_to_async(CourseFactory)()
    await database_sync_to_async(EnrollmentFactory)(course=elsewhere, student=students[0])
    attachment = await uploaded(students[0], elsewhere)
    sender = await join(course, students[0])

    await send(sender, message="cross-posted", attachments=[attachment.pk])

    assert (await receive_type(sender, "error"))["code"] == "not_found"
    await sender.disconnect()


@pytest.mark.parametrize(
    "attachments",
    [[1, 2, 3, 4, 5, 6], [1, 1], ["1"], [True], 7, [0], [[1]], [{"id": 1}], [2**63]],
    ids=["six", "twice", "string", "boolean", "not-a-list", "zero", "nested", "object", "huge"],
)
async def test_a_bad_attachments_list_is_an_invalid_frame(room, attachments):
    course, _, students = room
    sender = await join(course, students[0])

    await send(sender, message="hi", attachments=attachments)

    assert (await receive_type(sender, "error"))["code"] == "invalid_frame"
    await sender.disconnect()


async def test_history_frames_carry_the_attachments(room):
    course, _, students = room
    attachment = await uploaded(students[0], course, "notes.txt")
    sender = await join(course, students[0])
    await send(sender, message="file", attachments=[attachment.pk])
    await receive_type(sender, "message")

    await send(sender, type="history")

    (message,) = (await receive_type(sender, "history"))["messages"]
    assert message["attachments"][0]["url"] == f"/chat/attachments/{attachment.pk}/"
    assert message["attachments"][0]["thumbnail_url"] is None
    await sender.disconnect()
