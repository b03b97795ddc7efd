"""What diallers share through Redis, on a real Redis: the leader lock kept through a long
take-over. The rest of each dialler runs on the in-memory fakes (`tests.dialler.conftest`)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import attrs
import pytest
from redis.asyncio import Redis

from apps.dialler.stores import StoreCalls
from tests.dialler.conftest import World, make_campaign, new_world
from voxcore_adapters import redis
from voxcore_adapters.redis import RedisLeaderLock

LEADER_TTL = timedelta(seconds=0.6)


@pytest.fixture
async def client(dialler_redis_url: str) -> AsyncIterator[Redis]:
    connection = redis.connect(dialler_redis_url)
    try:
        yield connection
    finally:
        await connection.aclose()


@pytest.fixture
def prefix() -> str:
    return f"vox-{os.urandom(4).hex()}"


class SlowRecovery:
    """The contact store, with each `recover_expired` (one per campaign on a take-over) taking
    `seconds` of real time, as a slow MongoDB would."""

    def __init__(self, inner: Any, seconds: float) -> None:
        self.inner = inner
        self.seconds = seconds

    def recover_expired(self, *args: Any) -> Any:
        time.sleep(self.seconds)
        return self.inner.recover_expired(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_a_take_over_longer_than_the_leader_ttl_keeps_the_lead(
    client: Redis, prefix: str
) -> None:
    world: World = new_world()
    for key in ("c2", "c3", "c4"):
        world.campaigns.put(attrs.evolve(make_campaign(), id=key))
    world.add_contacts(2)
    await world.add_workers(2)
    lock = RedisLeaderLock(client, prefix)
    leader = world.dialler(
        "d1",
        lock=lock,
        leases=SlowRecovery(world.leases, 0.4),
        leader_ttl=LEADER_TTL,
        stores=StoreCalls(offload=True),
    )
    stolen: list[int] = []

    async def standby() -> None:
        while leader.token is None:  # the leader takes the lock first
            await asyncio.sleep(0.005)
        while True:
            token = await lock.acquire("0", "d2", LEADER_TTL)
            if token is not None:
                stolen.append(token)
            await asyncio.sleep(0.05)

    watching = asyncio.get_running_loop().create_task(standby())
    started = time.monotonic()
    try:
        report = await leader.tick(world.clock.now())
        await leader.wait_idle()
    finally:
        watching.cancel()
    took = time.monotonic() - started

    # Four campaigns' recovery took well over the lock's TTL; the lead was renewed throughout.
    assert took > 2 * LEADER_TTL.total_seconds()
    assert stolen == []
    assert report.leader
    assert leader.token is not None
    assert report.leased["c1"] >= 1  # and it went on to dial
    assert await lock.renew("0", "d1", leader.token, LEADER_TTL)
