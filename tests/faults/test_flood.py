"""One socket flooding a live Daphne: it is closed, memory stays flat, other rooms stay quick.

Daphne queues every incoming frame without limit (field notes: 75 MiB to 1.5 GiB in 20 s);
the consumer's frame budget (CHAT_FRAME_BUDGET) is what closes the flooding socket with 4429.
"""

import asyncio
import base64
import json
import secrets
import struct
import time
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from websockets.asyncio.client import connect

from deploy.processes import AsgiServer
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

FLOOD_SECONDS = 20
# A history request padded to 4 KB: each costs the server a database read, so without the frame
# budget Daphne's queue outgrows the consumer (measured: 95 MiB to 535 MiB in 10 s).
FRAME = json.dumps({"type": "history", "limit": 50, "pad": "x" * 4000})
MEMORY_SLACK_KIB = 50 * 1024
PING_LIMIT = 1.0
TIMEOUT = 10


def rss_kib(server: AsgiServer) -> int:
    """VmRSS of the server process, in KiB."""
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1])


def member_token(course) -> str:
    from rest_framework.authtoken.models import Token

    student = EnrollmentFactory(course=course).student
    return Token.objects.create(user=student).key


def room_socket(server, course_id, token):
    return connect(
        f"{server.ws_url}/ws/chat/room/{course_id}/",
        additional_headers={"Authorization": f"Token {token}"},
        open_timeout=TIMEOUT,
        close_timeout=1,
        max_queue=None,
    )


async def ping(ws) -> float:
    started = time.monotonic()
    await ws.send(json.dumps({"type": "ping"}))
    async with asyncio.timeout(TIMEOUT):
        while json.loads(await ws.recv())["type"] != "pong":
            pass
    return time.monotonic() - started


class RawFlooder:
    """A WebSocket client written on a bare TCP stream, so that sending costs it nothing.

    Frames are built once (client frames must be masked; an all-zero mask is valid and leaves
    the payload as is) and written in 1 MiB batches: the server, not the client, is the limit.
    """

    def __init__(self, server, course_id, token):
        self.server, self.course_id, self.token = server, course_id, token
        self.close_code = None
        self.closed = asyncio.Event()
        self.sent = 0

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.server.port)
        key = base64.b64encode(secrets.token_bytes(16)).decode()
        self.writer.write(
            (
                f"GET /ws/chat/room/{self.course_id}/ HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{self.server.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Authorization: Token {self.token}\r\n\r\n"
            ).encode()
        )
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        assert head.startswith(b"HTTP/1.1 101"), head
        self.reading = asyncio.create_task(self._read())

    async def _read(self):
        """Read server frames until the close frame (or the end of the stream)."""
        try:
            while True:
                first, second = await self.reader.readexactly(2)
                length = second & 0x7F
                if length == 126:
                    length = struct.unpack("!H", await self.reader.readexactly(2))[0]
                elif length == 127:
                    length = struct.unpack("!Q", await self.reader.readexactly(8))[0]
                payload = await self.reader.readexactly(length)
                if first & 0x0F == 0x8:
                    self.close_code = struct.unpack("!H", payload[:2])[0] if payload else None
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            self.closed.set()

    async def flood(self, seconds: float) -> int | None:
        """Send FRAME flat out until closed or `seconds` pass; the server's close code."""
        payload = FRAME.encode()
        frame = bytes([0x81, 0x80 | 126]) + struct.pack("!H", len(payload)) + b"\0" * 4 + payload
        batch = frame * (2**20 // len(frame))
        deadline = time.monotonic() + seconds
        try:
            while not self.closed.is_set() and time.monotonic() < deadline:
                self.writer.write(batch)
                await self.writer.drain()
                self.sent += len(batch)
        except ConnectionError:
            pass
        try:
            await asyncio.wait_for(self.closed.wait(), TIMEOUT)
        except TimeoutError:
            pass
        finally:
            self.writer.close()
        return self.close_code


@pytest.fixture
def rooms():
    """(flooded course id, its member's token, quiet course id, its member's token)."""
    flooded, quiet = CourseFactory(owner=UserFactory()), CourseFactory(owner=UserFactory())
    return flooded.pk, member_token(flooded), quiet.pk, member_token(quiet)


async def test_a_flooding_socket_is_closed_and_leaves_memory_and_other_rooms_unharmed(
    live_asgi_server, rooms
):
    server = await database_sync_to_async(live_asgi_server)("daphne")
    flooded_id, flooder_token, quiet_id, quiet_token = rooms
    flooder = RawFlooder(server, flooded_id, flooder_token)
    async with room_socket(server, quiet_id, quiet_token) as quiet:
        await flooder.open()
        for _ in range(3):
            await ping(quiet)
        start_rss = rss_kib(server)

        flooding = asyncio.create_task(flooder.flood(FLOOD_SECONDS))
        peak_rss, pings = start_rss, []
        while not flooding.done():
            pings.append(await ping(quiet))
            peak_rss = max(peak_rss, rss_kib(server))
            await asyncio.sleep(0.05)
        code = await flooding
        pings.append(await ping(quiet))
        peak_rss = max(peak_rss, rss_kib(server))

    assert code == 4429
    assert peak_rss - start_rss < MEMORY_SLACK_KIB, (start_rss, peak_rss)
    assert max(pings) < PING_LIMIT, pings
