"""The domain's publisher: through the running hub when one has registered, else the layer."""

import asyncio

import pytest
from channels.layers import get_channel_layer

from chat.events import event_publish, publisher_register, publisher_unregister, room_group

EVENT = {"type": "chat.typing", "room": 1, "user": "ann"}


@pytest.mark.usefixtures("chat_redis")
async def test_events_go_through_the_loops_registered_publisher_and_not_the_layer():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(room_group(1), channel)
    published = []

    def publish(group, event):
        published.append((group, event))

    publisher_register(publish)
    try:
        await event_publish(room_group(1), EVENT)
    finally:
        publisher_unregister(publish)
    assert published == [(room_group(1), EVENT)]
    # What the layer carries next is this marker, not the event.
    await layer.group_send(room_group(1), {"type": "marker"})
    async with asyncio.timeout(3):
        assert await layer.receive(channel) == {"type": "marker"}


@pytest.mark.usefixtures("chat_redis")
async def test_without_a_registered_publisher_events_go_to_the_layer():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(room_group(1), channel)

    def publish(group, event):
        raise AssertionError("an unregistered publisher was called")

    publisher_register(publish)
    publisher_unregister(publish)
    await event_publish(room_group(1), EVENT)
    async with asyncio.timeout(3):
        assert await layer.receive(channel) == EVENT
