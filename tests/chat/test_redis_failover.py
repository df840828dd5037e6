"""The chat through a Redis master failover: a master, its replica and three Sentinels.

The master is killed mid-chat; Sentinel promotes the replica and both servers (Daphne, Uvicorn)
go on with it, without a restart: nothing committed is lost, every socket gets every seq (live or
through the hub's reconciliation), new handshakes succeed, presence and rate limits are kept on
the new master.
"""

import asyncio
import json

import pytest

from chat.models import Message
from chat.runtime.db import db
from tests.chat import redis_topologies
from tests.chat.redis_topologies import MASTER_NAME
from tests.chat.test_live_servers import FAST, next_of, seqs_until, socket, token_of

pytestmark = pytest.mark.django_db(transaction=True)

sentinel_group = redis_topologies.sentinel_group


async def test_the_chat_goes_on_through_a_master_failover(room, live_asgi_server, sentinel_group):
    course, owner, students = room
    env = {"REDIS_SENTINELS": sentinel_group.addresses, "REDIS_SENTINEL_MASTER": MASTER_NAME}
    daphne = live_asgi_server("daphne", **env, **FAST)
    uvicorn = live_asgi_server("uvicorn", **env, **FAST)
    async with (
        socket(daphne, course, await token_of(students[0])) as on_daphne,
        socket(uvicorn, course, await token_of(owner)) as on_uvicorn,
    ):
        await next_of(on_daphne, "presence")
        await next_of(on_uvicorn, "presence")

        async def chat(first: int, count: int) -> None:
            for n in range(first, first + count):
                sender = on_daphne if n % 2 else on_uvicorn
                await sender.send(json.dumps({"message": f"m{n}", "client_id": f"c{n}"}))
                await asyncio.sleep(0.1)

        await chat(1, 5)
        # Messages keep flowing from both servers while the master dies and the replica is
        # promoted (about 2 s with down-after-milliseconds 500).
        await asyncio.gather(
            chat(6, 30), asyncio.to_thread(sentinel_group.kill_master_and_wait_for_failover)
        )
        await chat(36, 5)
        every_seq = list(range(1, 41))
        assert await seqs_until(on_daphne, 40, timeout=15) == every_seq
        assert await seqs_until(on_uvicorn, 40, timeout=15) == every_seq
        assert await db(Message.objects.filter(room_id=course.pk).count)() == 40

        # A new handshake on each server works, and sees the others through the new master's
        # presence set.
        new_master = sentinel_group.client(sentinel_group.replica)
        async with socket(daphne, course, await token_of(students[1]), after=40) as newcomer:
            snapshot = await next_of(newcomer, "presence")
            assert snapshot["online"] == sorted(
                [owner.username, students[0].username, students[1].username]
            )
            await newcomer.send(json.dumps({"message": "after the failover"}))
            assert await seqs_until(on_uvicorn, 41, timeout=5) == [41]
            assert any(
                member.startswith(f"{students[1].username}|")
                for member in new_master.zrange(f"chat:presence:{course.pk}", 0, -1)
            )
            # Its message was counted in the new master's rate window.
            assert new_master.zcard(f"chat:rate:{course.pk}:{students[1].pk}") == 1
        async with socket(uvicorn, course, await token_of(students[1]), after=41) as again:
            assert students[0].username in (await next_of(again, "presence"))["online"]
