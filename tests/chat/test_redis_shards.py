"""The chat on two Redis shards: presence, socket counts and rate windows spread by key, the
channel layer's groups spread by channels-redis, one rate-limit call per shard and batch."""

import asyncio
import json

import pytest
import redis
from channels_redis.core import RedisChannelLayer

from chat.events import room_group
from chat.runtime.shared_state import SharedState
from educa.ratelimit import rate_parse
from tests.chat import redis_topologies
from tests.chat.redis_topologies import shard_urls
from tests.chat.test_live_servers import FAST, next_of, seqs_until, socket, token_of
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory

two_shards = redis_topologies.two_shards


def shard_keys(shard, pattern: str) -> set[bytes]:
    return set(redis.Redis(port=shard.port).keys(pattern))


async def test_each_rooms_presence_lives_on_one_shard_and_the_rooms_spread_over_both(two_shards):
    state = SharedState(url=shard_urls(two_shards), process_id="p1", ttl=30.0)
    for room_id in range(1, 21):
        await state.presence_add(room_id=room_id, username="ann")
    held = [shard_keys(shard, "chat:presence:*") for shard in two_shards]
    assert held[0] and held[1] and not held[0] & held[1]
    assert len(held[0] | held[1]) == 20
    assert [await state.presence_list(room_id=room_id) for room_id in (1, 20)] == [["ann"]] * 2
    await state.close()


async def test_a_crashed_processs_entries_are_reaped_on_every_shard(two_shards):
    urls = shard_urls(two_shards)
    alive, crashed = (SharedState(url=urls, process_id=name, ttl=0.5) for name in ("a", "c"))
    rooms = range(1, 11)
    for room_id in rooms:
        await alive.presence_add(room_id=room_id, username="ann")
        await crashed.presence_add(room_id=room_id, username="bob")
    await asyncio.sleep(0.3)
    assert (await alive.refresh())[1] == {}
    await asyncio.sleep(0.35)
    # Only the crashed process missed its refresh; its entries go, room by room, on both shards.
    assert (await alive.refresh())[1] == {room_id: ["bob"] for room_id in rooms}
    assert [await alive.presence_list(room_id=room_id) for room_id in rooms] == [["ann"]] * 10
    assert all(shard_keys(shard, "chat:presence:*") for shard in two_shards)
    for state in (alive, crashed):
        await state.close()


async def test_a_writer_batch_costs_one_rate_limit_call_per_shard(two_shards):
    state = SharedState(url=shard_urls(two_shards), process_id="p1", ttl=30.0)
    rate = rate_parse("1/10s")
    senders = [(room_id, 7) for room_id in range(1, 21)]
    # Loads the script on both shards.
    await state.rate_allow_many([(room_id, 8) for room_id in range(1, 21)], rate=rate)
    for shard in two_shards:
        redis.Redis(port=shard.port).config_resetstat()
    allowed = await state.rate_allow_many([*senders, senders[0]], rate=rate)
    assert allowed == [True] * 20 + [False]
    calls = [
        redis.Redis(port=shard.port).info("commandstats")["cmdstat_evalsha"]["calls"]
        for shard in two_shards
    ]
    assert calls == [1, 1]
    assert state.shared
    await state.close()


# --- real servers -------------------------------------------------------------------------------


@pytest.fixture
def rooms_on_both_shards(transactional_db, two_shards):
    """Two courses, each with an owner and an enrolled student, whose room groups the channel
    layer keeps on different shards."""
    layer = RedisChannelLayer(hosts=[shard.url for shard in two_shards])
    by_shard = {}
    while len(by_shard) < 2:
        course = CourseFactory(owner=UserFactory())
        by_shard.setdefault(layer.consistent_hash(room_group(course.pk)), course)
    return [
        (two_shards[index], course, course.owner, EnrollmentFactory(course=course).student)
        for index, course in sorted(by_shard.items())
    ]


@pytest.mark.django_db(transaction=True)
async def test_the_chat_works_across_servers_in_rooms_on_either_shard(
    live_asgi_server, two_shards, rooms_on_both_shards
):
    env = {"REDIS_URLS": shard_urls(two_shards), **FAST}
    daphne, uvicorn = live_asgi_server("daphne", **env), live_asgi_server("uvicorn", **env)
    for shard, course, owner, student in rooms_on_both_shards:
        async with (
            socket(daphne, course, await token_of(student)) as sender,
            socket(uvicorn, course, await token_of(owner)) as reader,
        ):
            await next_of(sender, "presence")
            assert (await next_of(reader, "presence"))["online"] == sorted(
                [owner.username, student.username]
            )
            await sender.send(json.dumps({"message": f"in room {course.pk}"}))
            received = await next_of(reader, "message")
            assert (received["seq"], received["message"]) == (1, f"in room {course.pk}")
            assert await seqs_until(sender, 1) == [1]
            assert shard_keys(shard, f"asgi:group:{room_group(course.pk)}")
