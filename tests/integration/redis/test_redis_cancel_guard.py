"""A task cancelled in the middle of the Redis adapters' calls stops, on a real server.

Each case runs a task that calls one adapter operation back to back and cancels it after a
varied delay (a few loop turns to a few milliseconds), 150 times. Without the cancel guard
(`voxcore_adapters.redis.cancel_guard`), redis-py's `wait_for` around each write loses most of
these cancels on Python 3.11: the operation returns and the task carries on, which the task
itself reports (its `cancelling()` count is up, yet it is still running).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis
from redis.asyncio.connection import ConnectionPool, UnixDomainSocketConnection

from voxcore_adapters.redis import (
    RedisLeaderLock,
    RedisPauseSwitch,
    RedisRateLimiter,
    RedisSlotRegistry,
    connect,
)
from voxcore_adapters.redis.cancel_guard import GuardedUnixConnection, guard
from voxcore_adapters.sim.media import CalleeMedia, MediaTarget
from voxcore_domain.model import Slot, SlotState
from voxcore_domain.ratelimit import TokenBucket

pytestmark = pytest.mark.integration

ROUNDS = 150
STOP_S = 1.0
"""How long a cancelled task may take to end: its Redis round trip, far less on loopback."""

LOST = "went on after its cancel"


async def _busy(operation: Callable[[], Awaitable[object]]) -> str:
    """Run `operation` back to back until cancelled; returns `LOST` if a cancel came and the
    operation returned anyway."""
    task = asyncio.current_task()
    assert task is not None
    while True:
        await operation()
        if task.cancelling():
            return LOST


async def _cancel_in_the_middle(operation: Callable[[], Awaitable[object]], seed: int) -> None:
    rng = random.Random(seed)
    for round_ in range(ROUNDS):
        task = asyncio.create_task(_busy(operation))
        if round_ % 2:
            # A few loop turns: the cancel lands early in a command (connection, write).
            for _ in range(rng.randint(1, 8)):
                await asyncio.sleep(0)
        else:
            await asyncio.sleep(rng.uniform(0, 0.003))
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=STOP_S)
        assert done, f"round {round_}: still running {STOP_S} s after its cancel"
        assert task.cancelled(), f"round {round_}: {task.result()}"


async def _seed_slots(slots: RedisSlotRegistry) -> None:
    now = datetime.now(UTC)
    for worker in ("w1", "w2", "w3"):
        await slots.heartbeat(Slot("h1", worker, SlotState.IDLE, heartbeat_at=now), timedelta(60))


async def test_a_task_listing_slots_stops_when_cancelled(redis_client: Redis) -> None:
    slots = RedisSlotRegistry(redis_client, "vox")
    await _seed_slots(slots)
    await _cancel_in_the_middle(slots.slots, seed=1)


async def test_a_task_beating_stops_when_cancelled(redis_client: Redis) -> None:
    slots = RedisSlotRegistry(redis_client, "vox")
    slot = Slot("h1", "w1", SlotState.IDLE, heartbeat_at=datetime.now(UTC))
    await _cancel_in_the_middle(lambda: slots.heartbeat(slot, timedelta(seconds=5)), seed=2)


async def test_a_task_in_a_transaction_stops_when_cancelled(redis_client: Redis) -> None:
    slots = RedisSlotRegistry(redis_client, "vox")
    await _cancel_in_the_middle(lambda: slots.remove("h1", "w1"), seed=3)


async def test_a_task_renewing_the_leader_lock_stops_when_cancelled(redis_client: Redis) -> None:
    lock = RedisLeaderLock(redis_client, "vox")
    ttl = timedelta(seconds=5)
    token = await lock.acquire("s1", "d1", ttl)
    assert token is not None
    await _cancel_in_the_middle(lambda: lock.renew("s1", "d1", token, ttl), seed=4)


async def test_a_task_pacing_on_redis_stops_when_cancelled(redis_client: Redis) -> None:
    limiter = RedisRateLimiter(redis_client, "vox")
    pause = RedisPauseSwitch(redis_client, "vox")
    bucket = TokenBucket(rate=1000, burst=1000)

    async def tick() -> None:
        await pause.paused()
        await limiter.take("trunk", bucket)

    await _cancel_in_the_middle(tick, seed=5)


async def test_a_timeout_around_redis_calls_ends_them(redis_client: Redis) -> None:
    """The dialler's budgets are `asyncio.timeout`s: their cancel must not be lost either."""
    slots = RedisSlotRegistry(redis_client, "vox")
    await _seed_slots(slots)
    rng = random.Random(6)

    async def timed(budget_s: float) -> str:
        async with asyncio.timeout(budget_s):
            return await _busy(slots.slots)

    for round_ in range(ROUNDS):
        with pytest.raises(TimeoutError):
            pytest.fail(f"round {round_}: {await timed(rng.uniform(0, 0.003))}")


async def test_a_callee_waiting_for_its_worker_stops_when_hung_up(redis_client: Redis) -> None:
    """The simulated carrier's path: a callee's stream polls the slots for the worker that took
    its call (none does here) until the hang-up cancels it."""
    slots = RedisSlotRegistry(redis_client, "vox")
    await _seed_slots(slots)
    media = CalleeMedia(slots, MediaTarget("unix:/nowhere/{worker}.sock"), wait_s=60, poll_s=0)
    await _cancel_in_the_middle(lambda: media.locate("nobody's call"), seed=7)


async def test_connect_guards_unix_socket_urls_too() -> None:
    client = connect("unix:///run/redis.sock?db=0")
    try:
        assert client.connection_pool.connection_class is GuardedUnixConnection
    finally:
        await client.aclose()


def test_a_pool_on_a_connection_class_of_its_own_is_refused() -> None:
    class Custom(UnixDomainSocketConnection):
        pass

    with pytest.raises(TypeError, match="Custom"):
        guard(ConnectionPool(connection_class=Custom))
    pool = ConnectionPool(connection_class=UnixDomainSocketConnection)
    guard(pool)
    guard(pool)
    assert pool.connection_class is GuardedUnixConnection
