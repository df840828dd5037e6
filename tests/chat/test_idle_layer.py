"""An idle room on a healthy Redis channel layer, configured as the settings configure it."""

import asyncio
import logging

import pytest
from channels.layers import channel_layers

# Its import sets Django up again, logging included, which would remove caplog's handler.
import educa.asgi  # noqa: F401
from educa.settings.base import redis_channel_layer
from tests.chat.conftest import join

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("chat_redis")]

# channels-redis blocks up to 5 s per read: this holds the room for four reads in a row, more
# than the three (one try, two retries) after which the layer used to look lost.
IDLE_SECONDS = 20


@pytest.fixture
def settings_channel_layer(settings, chat_redis):
    """The channel layer of educa.settings.base for the throwaway redis-server."""
    settings.CHANNEL_LAYERS = {"default": redis_channel_layer({"address": chat_redis.url})}
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


async def frames_within(communicator, seconds: float) -> list[dict]:
    """Every frame the socket gets in `seconds`; the socket stays open."""
    frames = []
    deadline = asyncio.get_running_loop().time() + seconds
    while (remaining := deadline - asyncio.get_running_loop().time()) > 0:
        # A receive that times out would end the application: wait for a frame first.
        if not await communicator.receive_nothing(timeout=remaining, interval=0.1):
            frames.append(await communicator.receive_json_from())
    return frames


@pytest.mark.timeout(60)
@pytest.mark.usefixtures("settings_channel_layer")
async def test_an_idle_room_on_a_healthy_layer_never_reconnects_or_resends_presence(room, caplog):
    course, owner, _ = room
    socket = await join(course, owner)
    with caplog.at_level(logging.INFO, logger="chat"):
        frames = await frames_within(socket, IDLE_SECONDS)
    await socket.disconnect()
    layer_records = [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("chat") and "channel layer" in record.getMessage()
    ]
    assert layer_records == []
    assert [frame for frame in frames if frame["type"].startswith("presence")] == []
