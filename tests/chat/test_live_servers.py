"""The chat over real sockets: Daphne and Uvicorn processes sharing one redis-server."""

import asyncio
import json

import pytest
import websockets
from channels.db import database_sync_to_async
from websockets.asyncio.client import connect

from deploy.processes import RedisServer
from students.models import Enrollment
from tests.chat.conftest import (
    ChatClient,
    next_of,
    session_key_for,
    socket,
    stored_state,
    token_of,
)

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 10
# Short intervals so outages and crashes are noticed within a test's patience.
FAST = {"CHAT_RECONCILE_INTERVAL": "0.5", "CHAT_HEARTBEAT": "0.5", "CHAT_PRESENCE_TTL": "2"}


@pytest.fixture
def own_redis():
    """A redis-server of this test alone, which it may stop and start."""
    server = RedisServer()
    server.start()
    yield server
    server.close()


@pytest.fixture
def daphne_and_uvicorn(live_asgi_server, own_redis):
    env = {"REDIS_URL": own_redis.url, **FAST}
    return live_asgi_server("daphne", **env), live_asgi_server("uvicorn", **env)


async def seqs_until(ws, last_seq, timeout=TIMEOUT):
    """The seqs of the message frames received until `last_seq` arrives."""
    seqs = []
    async with asyncio.timeout(timeout):
        while not seqs or seqs[-1] < last_seq:
            frame = json.loads(await ws.recv())
            if frame["type"] == "message":
                seqs.append(frame["seq"])
    return seqs


async def test_a_message_sent_through_daphne_reaches_a_client_of_uvicorn(room, daphne_and_uvicorn):
    course, owner, students = room
    daphne, uvicorn = daphne_and_uvicorn
    async with (
        socket(daphne, course, await token_of(students[0])) as sender,
        socket(uvicorn, course, await token_of(owner)) as reader,
    ):
        await next_of(sender, "presence")
        await next_of(reader, "presence")
        await sender.send(json.dumps({"message": "across servers"}))
        received = await next_of(reader, "message")
        assert (received["seq"], received["message"]) == (1, "across servers")
        await reader.send(json.dumps({"message": "and back"}))
        assert (await next_of(sender, "message"))["seq"] == 1
        assert (await next_of(sender, "message"))["message"] == "and back"


async def test_presence_is_shared_by_the_servers(room, daphne_and_uvicorn):
    course, owner, students = room
    daphne, uvicorn = daphne_and_uvicorn
    async with socket(daphne, course, await token_of(owner)) as watcher:
        await next_of(watcher, "presence")
        async with socket(uvicorn, course, await token_of(students[0])) as student:
            snapshot = await next_of(student, "presence")
            assert snapshot["online"] == sorted([owner.username, students[0].username])
            assert (await next_of(watcher, "presence.join"))["user"] == students[0].username
        assert (await next_of(watcher, "presence.leave"))["user"] == students[0].username


async def test_every_committed_message_reaches_every_member_across_a_redis_outage(
    room, daphne_and_uvicorn, own_redis
):
    course, owner, students = room
    daphne, uvicorn = daphne_and_uvicorn
    async with (
        socket(daphne, course, await token_of(students[0])) as on_daphne,
        socket(uvicorn, course, await token_of(owner)) as on_uvicorn,
    ):
        await next_of(on_daphne, "presence")
        await next_of(on_uvicorn, "presence")
        await on_daphne.send(json.dumps({"message": "before"}))
        assert await seqs_until(on_uvicorn, 1) == [1]

        own_redis.stop()
        for index in range(5):
            await on_daphne.send(
                json.dumps({"message": f"during {index}", "client_id": f"d{index}"})
            )
        # Stored and acknowledged although the layer is gone; the other server's member gets
        # them from the database.
        assert await seqs_until(on_daphne, 6) == [1, 2, 3, 4, 5, 6]
        assert await seqs_until(on_uvicorn, 6) == [2, 3, 4, 5, 6]
        await on_uvicorn.send(json.dumps({"message": "during, from uvicorn"}))

        own_redis.start()
        await on_daphne.send(json.dumps({"message": "after"}))
        await on_uvicorn.send(json.dumps({"message": "after, from uvicorn"}))
        assert await seqs_until(on_daphne, 9) == [7, 8, 9]
        assert await seqs_until(on_uvicorn, 9) == [7, 8, 9]

        # The first handshake after Redis came back works, and live fan-out is back.
        async with socket(uvicorn, course, await token_of(students[1]), after=0) as newcomer:
            await next_of(newcomer, "presence")
            assert await seqs_until(newcomer, 9) == list(range(1, 10))
            await on_daphne.send(json.dumps({"message": "live again"}))
            assert await seqs_until(newcomer, 10, timeout=2) == [10]
            assert await seqs_until(on_uvicorn, 10, timeout=2) == [10]


async def test_a_crashed_servers_members_leave_the_online_list(room, daphne_and_uvicorn):
    course, owner, students = room
    daphne, uvicorn = daphne_and_uvicorn
    async with socket(daphne, course, await token_of(owner)) as watcher:
        await next_of(watcher, "presence")
        doomed = await socket(uvicorn, course, await token_of(students[0]))
        await next_of(watcher, "presence.join")
        uvicorn.kill()
        # TTL 2 s, reaped by the next heartbeat (0.5 s); the defaults give at most 55 s.
        left = await next_of(watcher, "presence.leave", timeout=8)
        assert left["user"] == students[0].username
        with pytest.raises(websockets.ConnectionClosed):
            await next_of(doomed, "never")


@pytest.mark.parametrize("kind", ["daphne", "uvicorn"])
async def test_a_frame_over_64_kib_closes_the_socket_with_1009(room, live_asgi_server, kind):
    course, owner, _ = room
    server = live_asgi_server(kind)
    async with socket(server, course, await token_of(owner)) as ws:
        await next_of(ws, "presence")
        await ws.send(json.dumps({"type": "ping", "pad": "x" * 65_000}))
        assert await next_of(ws, "pong")
        await ws.send(json.dumps({"message": "x" * 65_536}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await next_of(ws, "never")
    assert closed.value.rcvd.code == 1009


async def test_cookie_handshake_from_a_foreign_origin_gets_http_403(room, live_asgi_server):
    course, owner, _ = room
    server = live_asgi_server("daphne")
    key = await database_sync_to_async(session_key_for)(owner)
    url = f"{server.ws_url}/ws/chat/room/{course.pk}/"
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with connect(
            url, origin="http://evil.example", additional_headers={"Cookie": f"sessionid={key}"}
        ):
            pass
    assert refused.value.response.status_code == 403
    async with connect(
        url,
        origin=server.url,
        additional_headers={"Cookie": f"sessionid={key}"},
    ) as ws:
        assert (await next_of(ws, "presence"))["online"] == [owner.username]


async def test_a_refusal_reason_reaches_a_real_client_as_a_close_code(room, live_asgi_server):
    course, _, _ = room
    server = live_asgi_server("uvicorn")
    async with socket(server, course, "not-a-token") as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd.code == 4401


async def test_unenrolling_closes_the_students_socket_on_another_server(
    room, daphne_and_uvicorn, settings, own_redis
):
    course, _, students = room
    _, uvicorn = daphne_and_uvicorn
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [own_redis.url]},
        }
    }
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    async with socket(uvicorn, course, await token_of(students[0])) as ws:
        await next_of(ws, "presence")
        await database_sync_to_async(
            Enrollment.objects.filter(student=students[0], course=course).delete
        )()
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await next_of(ws, "never", timeout=5)
    assert closed.value.rcvd.code == 4403
    channel_layers.backends.clear()


async def test_a_flooding_client_is_closed_with_4429(room, live_asgi_server):
    course, owner, _ = room
    server = live_asgi_server("daphne")
    async with socket(server, course, await token_of(owner)) as ws:
        await next_of(ws, "presence")
        frame = json.dumps({"type": "ping", "pad": "x" * 4000})
        with pytest.raises(websockets.ConnectionClosed):
            # Sent without reading: the budget (60 frames) is counted as frames arrive.
            for _ in range(300):
                await ws.send(frame)
            await next_of(ws, "never")
    assert ws.close_code == 4429


# --- changes to sent messages, across a reconnect ----------------------------------------------


async def test_a_client_that_resumes_with_after_and_rev_has_the_databases_state(
    room, daphne_and_uvicorn
):
    course, owner, students = room
    daphne, uvicorn = daphne_and_uvicorn
    reader = ChatClient()
    author_token, owner_token = await token_of(students[0]), await token_of(owner)
    async with (
        socket(daphne, course, author_token) as author,
        socket(daphne, course, owner_token) as instructor,
    ):
        await next_of(author, "presence")
        await next_of(instructor, "presence")
        async with socket(uvicorn, course, await token_of(students[1])) as away:
            for text in ("one", "two", "three"):
                await author.send(json.dumps({"message": text}))
            await reader.read_until(away, last_seq=3, last_rev=3)
        ids = sorted(reader.messages)

        # While the reader is away: edits, reactions, a pin, a deletion and a new message.
        async def change(ws, **frame):
            await ws.send(json.dumps(frame))

        await change(author, type="edit", id=ids[0], message="one, edited")
        await change(instructor, type="react", id=ids[1], emoji="👍")
        await change(author, type="react", id=ids[1], emoji="👍")
        await change(instructor, type="pin", id=ids[2])
        await change(instructor, type="delete", id=ids[0])
        await change(author, type="message", message="four")
        await change(author, type="edit", id=ids[2], message="three, edited")
        await change(author, type="react", id=ids[1], emoji="🎉")
        # Every change has been stored once the author's last answer is back.
        await next_of(author, "message.updated")
        while (await database_sync_to_async(stored_state)(course))[2] < 3 + 8:
            await asyncio.sleep(0.05)

        state, last_seq, last_rev = await database_sync_to_async(stored_state)(course)
        query = f"?after={reader.last_seq}&rev={reader.last_rev}"
        async with connect(
            f"{uvicorn.ws_url}/ws/chat/room/{course.pk}/{query}",
            additional_headers={"Authorization": f"Token {await token_of(students[1])}"},
            open_timeout=TIMEOUT,
        ) as back:
            await reader.read_until(back, last_seq=last_seq, last_rev=last_rev)
            assert reader.messages == state

            # Live again: the next change arrives in place.
            await change(instructor, type="unpin", id=ids[2])
            await reader.read_until(back, last_seq=last_seq, last_rev=last_rev + 1)
            assert reader.messages[ids[2]]["pinned"] is False
