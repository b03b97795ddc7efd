"""The `SlotRegistry` contract, on the in-memory fake and on Redis, plus Redis's index upkeep."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from voxcore_adapters.fakes.redis_fakes import InMemorySlotRegistry, ManualClock
from voxcore_adapters.redis import RedisSlotRegistry
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import Slot, SlotState
from voxcore_domain.slots import claim, summarize

pytestmark = pytest.mark.integration

Advance = Callable[[timedelta], Awaitable[None]]
Now = Callable[[], datetime]
Registry = InMemorySlotRegistry | RedisSlotRegistry

TTL = timedelta(seconds=30)


@pytest.fixture
def registry(backend: str, clock: ManualClock, redis_client: Redis) -> Registry:
    return InMemorySlotRegistry(clock) if backend == "fake" else RedisSlotRegistry(redis_client)


def idle(now: Now, host: str, worker: str) -> Slot:
    return Slot(host, worker, SlotState.IDLE, heartbeat_at=now())


async def test_an_empty_registry_lists_nothing(registry: Registry) -> None:
    assert await registry.slots() == []


async def test_a_heartbeat_is_listed_as_reported(registry: Registry, now: Now) -> None:
    busy = claim(idle(now, "host-1", "w0"), "call-9", now())
    await registry.heartbeat(busy, TTL)
    assert await registry.slots() == [busy]


async def test_each_worker_has_one_entry_holding_its_latest_report(
    registry: Registry, now: Now
) -> None:
    first = idle(now, "host-1", "w0")
    await registry.heartbeat(first, TTL)
    later = claim(first, "call-1", now())
    await registry.heartbeat(later, TTL)
    assert await registry.slots() == [later]


async def test_slots_are_listed_by_host_then_worker(registry: Registry, now: Now) -> None:
    names = [("host-2", "w1"), ("host-1", "w1"), ("host-2", "w0"), ("host-1", "w0")]
    for host, worker in names:
        await registry.heartbeat(idle(now, host, worker), TTL)
    assert [(s.host, s.worker) for s in await registry.slots()] == sorted(names)


async def test_separators_in_names_do_not_make_two_slots_one(registry: Registry, now: Now) -> None:
    await registry.heartbeat(idle(now, "a:b", "c"), TTL)
    await registry.heartbeat(idle(now, "a", "b:c"), TTL)
    assert {(s.host, s.worker) for s in await registry.slots()} == {("a:b", "c"), ("a", "b:c")}


async def test_a_slot_without_heartbeats_vanishes_after_its_ttl(
    registry: Registry, now: Now, advance: Advance
) -> None:
    # Real time on Redis: 1.2 s in all.
    ttl = timedelta(seconds=1)
    await registry.heartbeat(idle(now, "host-1", "quiet"), ttl)
    await registry.heartbeat(idle(now, "host-1", "beating"), ttl)
    await advance(timedelta(seconds=0.6))
    await registry.heartbeat(idle(now, "host-1", "beating"), ttl)
    assert [s.worker for s in await registry.slots()] == ["beating", "quiet"]
    await advance(timedelta(seconds=0.6))
    assert [s.worker for s in await registry.slots()] == ["beating"]


async def test_remove_forgets_a_slot_at_once(registry: Registry, now: Now) -> None:
    await registry.heartbeat(idle(now, "host-1", "w0"), TTL)
    await registry.heartbeat(idle(now, "host-1", "w1"), TTL)
    await registry.remove("host-1", "w0")
    await registry.remove("host-1", "never-registered")
    assert [s.worker for s in await registry.slots()] == ["w1"]


async def test_capacity_is_the_domain_summary_of_the_listed_slots(
    registry: Registry, now: Now
) -> None:
    at = now()
    reports = [
        Slot("host-a", "w0", SlotState.IDLE, heartbeat_at=at),
        Slot("host-a", "w1", SlotState.BUSY, at, call_id="c1", busy_since=at - timedelta(60)),
        Slot("host-b", "w0", SlotState.DRAINING, heartbeat_at=at),
        # Still registered, but its last report is too old to trust.
        Slot("host-b", "w1", SlotState.IDLE, heartbeat_at=at - timedelta(minutes=5)),
    ]
    for slot in reports:
        await registry.heartbeat(slot, TTL)
    capacity = await registry.capacity(at)
    assert capacity == summarize(reports, at)
    assert (capacity.free, capacity.busy, capacity.hosts["host-b"].stale) == (1, 1, 1)


@pytest.mark.parametrize("ttl", [timedelta(0), timedelta(seconds=-1)])
async def test_a_ttl_must_be_positive(registry: Registry, now: Now, ttl: timedelta) -> None:
    with pytest.raises(ValidationError) as refused:
        await registry.heartbeat(idle(now, "host-1", "w0"), ttl)
    assert refused.value.field == "ttl"


async def test_remove_names_an_empty_host(registry: Registry) -> None:
    with pytest.raises(ValidationError) as refused:
        await registry.remove(" ", "w0")
    assert refused.value.field == "host"


async def test_redis_forgets_expired_slots_in_its_index_too(redis_client: Redis) -> None:
    registry = RedisSlotRegistry(redis_client)
    slot = Slot("host-1", "w0", SlotState.IDLE, heartbeat_at=datetime.now(UTC))
    await registry.heartbeat(slot, timedelta(milliseconds=200))
    assert await redis_client.zcard("vox:slots") == 1
    await asyncio.sleep(0.25)
    assert await registry.slots() == []
    assert await redis_client.zcard("vox:slots") == 0
    assert await redis_client.keys("vox:slot:*") == []
