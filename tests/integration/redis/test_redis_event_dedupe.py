"""The `EventDedupe` contract, on the in-memory fake and on Redis."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from voxcore_adapters.fakes.inbound import InMemoryEventDedupe
from voxcore_adapters.fakes.redis_fakes import ManualClock
from voxcore_adapters.redis.dedupe import RedisEventDedupe
from voxcore_domain.errors import ValidationError
from voxcore_domain.ports import EventDedupe

pytestmark = pytest.mark.integration

Advance = Callable[[timedelta], Awaitable[None]]


@pytest.fixture
def dedupe(backend: str, clock: ManualClock, redis_client: Redis) -> EventDedupe:
    if backend == "fake":
        return InMemoryEventDedupe(clock)
    return RedisEventDedupe(redis_client, "vox-test")


async def test_only_the_first_claim_of_an_event_wins(dedupe: EventDedupe) -> None:
    assert await dedupe.claim("EV_1", timedelta(minutes=5))
    assert not await dedupe.claim("EV_1", timedelta(minutes=5))
    assert await dedupe.claim("EV_2", timedelta(minutes=5))


async def test_a_released_claim_can_be_taken_again(dedupe: EventDedupe) -> None:
    assert await dedupe.claim("EV_1", timedelta(minutes=5))
    await dedupe.release("EV_1")
    assert await dedupe.claim("EV_1", timedelta(minutes=5))
    await dedupe.release("EV_never")


async def test_a_claim_expires_after_its_ttl(dedupe: EventDedupe, advance: Advance) -> None:
    assert await dedupe.claim("EV_1", timedelta(milliseconds=200))
    assert not await dedupe.claim("EV_1", timedelta(milliseconds=200))
    await advance(timedelta(milliseconds=300))
    assert await dedupe.claim("EV_1", timedelta(milliseconds=200))


async def test_an_empty_event_id_or_ttl_is_refused(dedupe: EventDedupe) -> None:
    with pytest.raises(ValidationError):
        await dedupe.claim("", timedelta(minutes=1))
    with pytest.raises(ValidationError):
        await dedupe.claim("EV_1", timedelta(0))
