"""`TrunkChannels`: one contract, on the in-memory fake (manual clock) and on Redis (real
time)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from voxcore_adapters.fakes import InMemoryTrunkChannels, ManualClock
from voxcore_adapters.redis import RedisTrunkChannels
from voxcore_domain.errors import ValidationError
from voxcore_domain.ports import TrunkChannels

TTL = timedelta(milliseconds=400)


@pytest.fixture
def channels(backend: str, clock: ManualClock, redis_client: Redis) -> TrunkChannels:
    if backend == "fake":
        return InMemoryTrunkChannels(clock)
    return RedisTrunkChannels(redis_client, "vox-test")


async def test_claims_stop_at_the_limit_and_a_release_frees_one(channels: TrunkChannels) -> None:
    assert await channels.claim("tr1", "a", 2, TTL)
    assert await channels.claim("tr1", "b", 2, TTL)
    assert not await channels.claim("tr1", "c", 2, TTL)
    # A call holding a channel claims it again (a renewal), at the limit or not.
    assert await channels.claim("tr1", "a", 2, TTL)
    # Other trunks are counted apart; no limit, no refusal.
    assert await channels.claim("tr2", "c", None, TTL)
    assert await channels.in_use(["tr1", "tr2", "tr3"]) == {"tr1": 2, "tr2": 1, "tr3": 0}

    await channels.release("tr1", "a")
    await channels.release("tr1", "nobody")
    assert await channels.claim("tr1", "c", 2, TTL)
    assert not await channels.claim("tr1", "d", 2, TTL)
    assert not await channels.claim("tr1", "d", 0, TTL)
    assert await channels.in_use(["tr1"]) == {"tr1": 2}


async def test_holds_run_out_unless_renewed(
    channels: TrunkChannels, advance: Callable[[timedelta], Awaitable[None]]
) -> None:
    assert await channels.claim("tr1", "kept", 2, TTL)
    assert await channels.claim("tr1", "dead", 2, TTL)
    await advance(TTL / 2)
    await channels.hold("tr1", ["kept"], TTL)
    await advance(TTL * 3 / 4)
    # The dead holder's channel ran out; the renewed one did not.
    assert await channels.in_use(["tr1"]) == {"tr1": 1}
    assert await channels.claim("tr1", "new", 2, TTL)
    assert not await channels.claim("tr1", "more", 2, TTL)
    # A hold takes back a channel that ran out, whatever the limit: the call is on the trunk.
    await advance(TTL * 3 / 2)
    await channels.hold("tr1", ["kept", "new", "late"], TTL)
    assert await channels.in_use(["tr1"]) == {"tr1": 3}
    await channels.hold("tr1", [], TTL)


async def test_two_diallers_never_both_take_the_last_channel(
    backend: str, clock: ManualClock, redis_client: Redis
) -> None:
    first: TrunkChannels
    second: TrunkChannels
    if backend == "fake":
        first = second = InMemoryTrunkChannels(clock)
    else:
        first = RedisTrunkChannels(redis_client, "vox-test")
        second = RedisTrunkChannels(redis_client, "vox-test")
    claims = [
        (first if i % 2 else second).claim("tr1", f"call-{i}", 5, timedelta(seconds=30))
        for i in range(40)
    ]
    results = await asyncio.gather(*claims)
    assert sum(results) == 5
    assert await first.in_use(["tr1"]) == await second.in_use(["tr1"]) == {"tr1": 5}


async def test_bad_arguments_are_refused(channels: TrunkChannels) -> None:
    with pytest.raises(ValidationError, match="limit"):
        await channels.claim("tr1", "a", -1, TTL)
    with pytest.raises(ValidationError, match="ttl"):
        await channels.claim("tr1", "a", 1, timedelta(0))
    with pytest.raises(ValidationError, match="call_id"):
        await channels.claim("tr1", "", 1, TTL)


async def test_a_close_out_frees_exactly_its_calls_and_bars_their_old_holder(
    channels: TrunkChannels, advance: Callable[[timedelta], Awaitable[None]]
) -> None:
    # A dead leader's two calls, another shard's leader's call, all on one trunk at its limit;
    # the dead leader also held a call on another trunk.
    for call_id in ("dead-1", "dead-2", "other-shard"):
        assert await channels.claim("tr1", call_id, 3, TTL)
    assert await channels.claim("tr2", "dead-3", None, TTL)
    assert not await channels.claim("tr1", "new", 3, TTL)

    # The new leader closed the dead leader's calls on tr1 out: their channels are free now,
    # and only theirs.
    freed = await channels.close_out("tr1", ["dead-1", "dead-2", "never-held"], TTL * 3)
    assert freed == 2
    assert await channels.in_use(["tr1", "tr2"]) == {"tr1": 1, "tr2": 1}
    assert await channels.claim("tr1", "new", 3, TTL)
    assert await channels.claim("tr1", "newer", 3, TTL)
    assert not await channels.claim("tr1", "newest", 3, TTL)

    # The old holder thaws: its renewals and claims of the closed calls are refused, its other
    # calls still count.
    await channels.hold("tr1", ["dead-1", "dead-2", "other-shard"], TTL)
    assert not await channels.claim("tr1", "dead-1", None, TTL)
    assert await channels.in_use(["tr1"]) == {"tr1": 3}
    assert await channels.close_out("tr1", [], TTL) == 0

    # The bar runs out with its time; a shorter close-out never shortens it.
    assert await channels.close_out("tr1", ["dead-2"], TTL / 4) == 0
    await advance(TTL * 2)
    await channels.hold("tr1", ["dead-2"], TTL)
    assert await channels.in_use(["tr1"]) == {"tr1": 0}
    await advance(TTL * 3 / 2)
    await channels.hold("tr1", ["dead-2"], TTL)
    assert await channels.claim("tr1", "dead-1", None, TTL)
    assert await channels.in_use(["tr1"]) == {"tr1": 2}


async def test_a_close_out_refuses_bad_arguments(channels: TrunkChannels) -> None:
    with pytest.raises(ValidationError, match="barred"):
        await channels.close_out("tr1", ["a"], timedelta(0))
    with pytest.raises(ValidationError, match="call_id"):
        await channels.close_out("tr1", ["a", ""], TTL)
    with pytest.raises(ValidationError, match="trunk_id"):
        await channels.close_out("", ["a"], TTL)
