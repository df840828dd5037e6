"""Every chat feature for a token client: a script with `Authorization: Token`, talking to a real
Daphne process over its WebSocket and its REST API with the same token."""

import contextlib
import itertools
import json

import httpx
import pytest
from channels.db import database_sync_to_async

from tests.chat.conftest import LIVE_TIMEOUT, ChatClient, socket, stored_state, token_of
from tests.factories import ContentFactory

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGE_FRAMES = ("message", "message.updated", "message.deleted")


class TokenClient:
    """One member's client: a socket in the course's room and REST calls with the same token.

    Every message frame it reads is kept, in arrival order, in `frames`, and applied to `room`.
    """

    def __init__(self, user, ws, http: httpx.AsyncClient):
        self.user = user
        self.ws = ws
        self.http = http
        self.frames: list[dict] = []
        self.room = ChatClient()
        self._client_ids = itertools.count(1)

    async def send(self, **frame) -> None:
        await self.ws.send(json.dumps(frame))

    async def receive(self, kind: str, **fields) -> dict:
        """The next frame of `kind` whose fields have the values given (others are kept too)."""
        while True:
            frame = await self._read()
            if frame["type"] == kind and all(frame.get(k) == v for k, v in fields.items()):
                return frame

    async def read_until(self, *, last_seq: int, last_rev: int) -> None:
        while (self.room.last_seq, self.room.last_rev) != (last_seq, last_rev):
            await self._read()

    async def _read(self) -> dict:
        frame = json.loads(await self.ws.recv())
        if frame["type"] in MESSAGE_FRAMES:
            self.frames.append(frame)
            self.room.apply(frame)
        return frame

    async def say(self, text: str, **fields) -> dict:
        """Sends a message and waits for its acknowledgement (the stored message's frame)."""
        client_id = f"{self.user.username}-{next(self._client_ids)}"
        await self.send(type="message", message=text, client_id=client_id, **fields)
        return await self.receive("message", client_id=client_id)


@pytest.fixture
def server(live_asgi_server, tmp_path):
    return live_asgi_server("daphne", DJANGO_MEDIA_ROOT=str(tmp_path))


@pytest.fixture
def content(room):
    course, _, _ = room
    return ContentFactory(module__course=course, item__title="Lists and loops")


@contextlib.asynccontextmanager
async def token_client(server, course, user, **resume):
    token = await token_of(user)
    async with (
        socket(server, course, token, **resume) as ws,
        httpx.AsyncClient(
            base_url=server.url,
            headers={"Authorization": f"Token {token}"},
            timeout=LIVE_TIMEOUT,
        ) as http,
    ):
        client = TokenClient(user, ws, http)
        assert (await client.receive("presence"))["type"] == "presence"
        yield client


@pytest.fixture
async def members(room, server):
    """A student's and the course owner's token clients, both in the room."""
    course, owner, students = room
    async with (
        token_client(server, course, students[0]) as student,
        token_client(server, course, owner) as instructor,
    ):
        yield student, instructor


async def test_a_bare_url_in_markdown_arrives_as_a_link(members):
    student, instructor = members
    sent = await student.say("Read **this**: https://example.org/lists")
    received = await instructor.receive("message", id=sent["id"])
    assert '<a href="https://example.org/lists"' in received["html"]
    assert "<strong>this</strong>" in received["html"]


async def test_a_reply_carries_an_excerpt_of_the_original(members):
    student, instructor = members
    question = await student.say("Where is the reading list?")
    answer = await instructor.say("In module one.", reply_to=question["id"])
    received = await student.receive("message", id=answer["id"])
    assert received["reply_to"] == {
        "id": question["id"],
        "seq": question["seq"],
        "user": student.user.username,
        "excerpt": "Where is the reading list?",
        "deleted": False,
    }


async def test_a_mention_is_listed_for_the_other_member(members):
    student, instructor = members
    sent = await student.say(f"@{instructor.user.username} could you look?")
    assert (await instructor.receive("message", id=sent["id"]))["mentions"] == [
        instructor.user.username
    ]
    listed = (await instructor.http.get("/api/me/notifications/")).json()
    assert [(n["message"], n["user"]) for n in listed["results"]] == [
        (sent["id"], student.user.username)
    ]


async def test_reading_notifications_clears_the_mention(members):
    student, instructor = members
    sent = await student.say(f"@{instructor.user.username} could you look?")
    await instructor.receive("message", id=sent["id"])
    cleared = await instructor.http.post("/api/me/notifications/read/", json={})
    assert cleared.json() == {"read": 1}
    assert (await instructor.http.get("/api/me/notifications/")).json()["results"] == []


async def test_an_edit_reaches_the_other_member(members):
    student, instructor = members
    sent = await student.say("Helo")
    await student.send(type="edit", id=sent["id"], message="Hello")
    updated = await instructor.receive("message.updated", id=sent["id"])
    assert (updated["message"], updated["rev"]) == ("Hello", sent["rev"] + 1)
    assert updated["edited_at"] is not None


async def test_a_reaction_reaches_the_other_member(members):
    student, instructor = members
    sent = await student.say("Done!")
    await instructor.send(type="react", id=sent["id"], emoji="🎉")
    updated = await student.receive("message.updated", id=sent["id"])
    assert updated["reactions"] == {"🎉": [instructor.user.username]}


async def test_the_owners_pin_reaches_the_student_and_the_pins_api(members, room):
    student, instructor = members
    course, _, _ = room
    sent = await student.say("Exam on Friday?")
    await instructor.send(type="pin", id=sent["id"])
    assert (await student.receive("message.updated", id=sent["id"]))["pinned"] is True
    pins = (await student.http.get(f"/api/courses/{course.pk}/pins/")).json()
    assert [message["id"] for message in pins["messages"]] == [sent["id"]]


async def test_an_uploaded_attachment_is_carried_and_downloadable_with_the_token(members, room):
    student, instructor = members
    course, _, _ = room
    upload = await student.http.post(
        f"/api/courses/{course.pk}/attachments/",
        files={"file": ("notes.txt", b"loop notes\n", "text/plain")},
    )
    assert upload.status_code == 201, upload.text
    sent = await student.say("My notes", attachments=[upload.json()["id"]])
    received = await instructor.receive("message", id=sent["id"])
    assert [a["name"] for a in received["attachments"]] == ["notes.txt"]
    download = await instructor.http.get(received["attachments"][0]["url"])
    assert (download.status_code, download.content) == (200, b"loop notes\n")
    assert download.headers["Content-Disposition"].startswith("attachment")


async def test_a_question_about_content_gets_the_owners_answer(members, content):
    student, instructor = members
    question = await student.say("Why does the loop stop?", about=content.pk)
    assert question["question"] == {
        "content_id": content.pk,
        "content_title": "Lists and loops",
        "answer_id": None,
    }
    answer = await instructor.say("The condition turns false.", reply_to=question["id"])
    await instructor.send(type="answer", id=question["id"], answer_id=answer["id"])
    updated = await student.receive("message.updated", id=question["id"])
    assert updated["question"]["answer_id"] == answer["id"]


async def test_search_finds_the_message(members, room):
    student, instructor = members
    course, _, _ = room
    await student.say("Something else")
    sent = await student.say("The loop invariant holds")
    await instructor.receive("message", id=sent["id"])
    found = await instructor.http.get(
        f"/api/courses/{course.pk}/messages/", params={"search": "invariant"}
    )
    assert [message["id"] for message in found.json()["messages"]] == [sent["id"]]
    assert "<mark>invariant</mark>" in found.json()["messages"][0]["excerpt"]


async def test_a_deletion_reaches_the_other_member(members):
    student, instructor = members
    sent = await student.say("Oops, wrong room")
    await student.send(type="delete", id=sent["id"])
    deleted = await instructor.receive("message.deleted", id=sent["id"])
    assert (deleted["seq"], deleted["rev"]) == (sent["seq"], sent["rev"] + 1)


# --- every feature at once: frame order, and a client that resumes ------------------------------


async def use_every_feature(student: TokenClient, instructor: TokenClient, course, content):
    """Each feature once, as the two members would; returns once all of it is stored.

    Each change waits for its own frame on the sender's socket, so that the last frame is the
    room's last rev (two sockets' changes could otherwise commit in either order).
    """
    markdown = await student.say("See *this*: https://example.org")
    question = await student.say(f"@{instructor.user.username} why does it stop?", about=content.pk)
    upload = await student.http.post(
        f"/api/courses/{course.pk}/attachments/",
        files={"file": ("notes.txt", b"notes", "text/plain")},
    )
    await student.say("My notes", attachments=[upload.json()["id"]])
    answer = await instructor.say("The condition turns false.", reply_to=question["id"])
    await instructor.send(type="answer", id=question["id"], answer_id=answer["id"])
    await instructor.receive("message.updated", id=question["id"])
    await instructor.send(type="pin", id=question["id"])
    await instructor.receive("message.updated", id=question["id"], pinned=True)
    await student.send(type="react", id=answer["id"], emoji="🙏")
    await student.receive("message.updated", id=answer["id"])
    await student.send(type="edit", id=markdown["id"], message="See **this**: https://example.org")
    await student.receive("message.updated", id=markdown["id"])
    doomed = await student.say("Never mind")
    await student.send(type="delete", id=doomed["id"])
    await student.receive("message.deleted", id=doomed["id"])


async def test_each_member_receives_every_change_once_in_seq_and_rev_order(members, room, content):
    student, instructor = members
    course, _, _ = room
    await use_every_feature(student, instructor, course, content)
    _, last_seq, last_rev = await database_sync_to_async(stored_state)(course)
    for client in (student, instructor):
        await client.read_until(last_seq=last_seq, last_rev=last_rev)
        seqs = [frame["seq"] for frame in client.frames if frame["type"] == "message"]
        revs = [frame["rev"] for frame in client.frames]
        assert seqs == list(range(1, last_seq + 1)), client.user
        assert revs == list(range(1, last_rev + 1)), client.user


async def test_a_client_resuming_with_after_and_rev_ends_with_the_databases_state(
    members, room, server, content
):
    student, instructor = members
    course, _, students = room
    early = await student.say("Before the reader left")
    async with token_client(server, course, students[1], after=0) as reader:
        await reader.read_until(last_seq=1, last_rev=1)
    # While the reader is away: a change to the message it has, and every feature.
    await instructor.send(type="react", id=early["id"], emoji="👍")
    await student.receive("message.updated", id=early["id"])
    await use_every_feature(student, instructor, course, content)
    state, last_seq, last_rev = await database_sync_to_async(stored_state)(course)

    resume = {"after": reader.room.last_seq, "rev": reader.room.last_rev}
    async with token_client(server, course, students[1], **resume) as back:
        back.room = reader.room
        await back.read_until(last_seq=last_seq, last_rev=last_rev)
    assert back.room.messages == state
