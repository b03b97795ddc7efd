"""The `LeaderLock` contract, on the in-memory fake and on Redis."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from voxcore_adapters.fakes.redis_fakes import InMemoryLeaderLock, ManualClock
from voxcore_adapters.redis import RedisLeaderLock
from voxcore_domain.errors import ValidationError
from voxcore_domain.leadership import Leader

pytestmark = pytest.mark.integration

Advance = Callable[[timedelta], Awaitable[None]]
Lock = InMemoryLeaderLock | RedisLeaderLock

TTL = timedelta(seconds=30)


@pytest.fixture
def lock(backend: str, clock: ManualClock, redis_client: Redis) -> Lock:
    return InMemoryLeaderLock(clock) if backend == "fake" else RedisLeaderLock(redis_client)


async def test_the_first_contender_gets_the_shard_and_token_1(lock: Lock) -> None:
    assert await lock.acquire("shard-0", "dialler-a", TTL) == 1
    assert await lock.holder("shard-0") == Leader("dialler-a", 1)


async def test_nobody_else_gets_a_held_shard_not_even_its_holder(lock: Lock) -> None:
    await lock.acquire("shard-0", "dialler-a", TTL)
    assert await lock.acquire("shard-0", "dialler-b", TTL) is None
    assert await lock.acquire("shard-0", "dialler-a", TTL) is None
    assert await lock.holder("shard-0") == Leader("dialler-a", 1)


async def test_only_the_holder_with_its_token_renews(lock: Lock) -> None:
    token = await lock.acquire("shard-0", "dialler-a", TTL)
    assert token is not None
    assert await lock.renew("shard-0", "dialler-a", token, TTL)
    assert not await lock.renew("shard-0", "dialler-a", token + 1, TTL)
    assert not await lock.renew("shard-0", "dialler-b", token, TTL)
    assert not await lock.renew("shard-1", "dialler-a", token, TTL)


async def test_release_frees_the_shard_and_the_next_holder_gets_a_larger_token(
    lock: Lock,
) -> None:
    first = await lock.acquire("shard-0", "dialler-a", TTL)
    assert first is not None
    await lock.release("shard-0", "dialler-a", first)
    assert await lock.holder("shard-0") is None
    second = await lock.acquire("shard-0", "dialler-b", TTL)
    assert second is not None
    assert second > first


async def test_a_renewed_lease_outlives_its_first_ttl(lock: Lock, advance: Advance) -> None:
    ttl = timedelta(milliseconds=300)
    token = await lock.acquire("shard-0", "dialler-a", ttl)
    assert token is not None
    await advance(timedelta(milliseconds=200))
    assert await lock.renew("shard-0", "dialler-a", token, ttl)
    await advance(timedelta(milliseconds=200))
    assert await lock.holder("shard-0") == Leader("dialler-a", token)


async def test_after_the_ttl_another_takes_over_and_the_old_token_is_refused(
    lock: Lock, advance: Advance
) -> None:
    ttl = timedelta(milliseconds=200)
    old = await lock.acquire("shard-0", "dialler-a", ttl)
    assert old is not None
    await advance(timedelta(milliseconds=300))
    new = await lock.acquire("shard-0", "dialler-b", TTL)
    assert new is not None
    assert new > old
    assert not await lock.renew("shard-0", "dialler-a", old, TTL)
    await lock.release("shard-0", "dialler-a", old)
    assert await lock.holder("shard-0") == Leader("dialler-b", new)


async def test_a_lapsed_holder_cannot_renew_even_if_nobody_took_over(
    lock: Lock, advance: Advance
) -> None:
    ttl = timedelta(milliseconds=200)
    token = await lock.acquire("shard-0", "dialler-a", ttl)
    assert token is not None
    await advance(timedelta(milliseconds=300))
    assert not await lock.renew("shard-0", "dialler-a", token, ttl)
    assert await lock.holder("shard-0") is None
    assert await lock.acquire("shard-0", "dialler-a", ttl) == token + 1


async def test_shards_have_their_own_holders_and_tokens(lock: Lock) -> None:
    assert await lock.acquire("shard-0", "dialler-a", TTL) == 1
    assert await lock.acquire("shard-1", "dialler-b", TTL) == 1
    assert await lock.acquire("shard:1", "dialler-c", TTL) == 1
    assert await lock.holder("shard-1") == Leader("dialler-b", 1)


async def test_an_owner_name_with_spaces_round_trips(lock: Lock) -> None:
    token = await lock.acquire("shard-0", "dialler a on host 1", TTL)
    assert token is not None
    assert await lock.holder("shard-0") == Leader("dialler a on host 1", token)
    assert await lock.renew("shard-0", "dialler a on host 1", token, TTL)


@pytest.mark.parametrize(
    ("shard", "owner", "ttl", "field"),
    [
        ("", "dialler-a", TTL, "shard"),
        ("shard-0", " ", TTL, "owner"),
        ("shard-0", "dialler-a", timedelta(0), "ttl"),
    ],
)
async def test_bad_arguments_are_refused_by_name(
    lock: Lock, shard: str, owner: str, ttl: timedelta, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        await lock.acquire(shard, owner, ttl)
    assert refused.value.field == field


async def test_a_token_must_be_a_whole_number(lock: Lock) -> None:
    with pytest.raises(ValidationError) as refused:
        await lock.renew("shard-0", "dialler-a", "1", TTL)  # type: ignore[arg-type]
    assert refused.value.field == "token"
    with pytest.raises(ValidationError) as refused:
        await lock.release("shard-0", "dialler-a", True)
    assert refused.value.field == "token"


async def test_reissue_gives_the_holder_a_token_above_the_floor_and_keeps_it_leading(
    lock: Lock,
) -> None:
    token = await lock.acquire("shard-0", "dialler-a", TTL)
    assert token == 1
    # A store has seen token 7 (the lock's counter was lost since): the holder moves past it.
    assert await lock.reissue("shard-0", "dialler-a", 1, 7, TTL) == 8
    assert await lock.holder("shard-0") == Leader("dialler-a", 8)
    assert not await lock.renew("shard-0", "dialler-a", 1, TTL)
    assert await lock.renew("shard-0", "dialler-a", 8, TTL)
    # Below the counter, the floor changes nothing: the next token is still the next one.
    assert await lock.reissue("shard-0", "dialler-a", 8, 2, TTL) == 9
    await lock.release("shard-0", "dialler-a", 9)
    assert await lock.acquire("shard-0", "dialler-b", TTL) == 10


async def test_only_the_live_holder_gets_a_reissued_token(lock: Lock, advance: Advance) -> None:
    assert await lock.acquire("shard-0", "dialler-a", TTL) == 1
    assert await lock.reissue("shard-0", "dialler-b", 1, 5, TTL) is None
    assert await lock.reissue("shard-0", "dialler-a", 2, 5, TTL) is None
    assert await lock.holder("shard-0") == Leader("dialler-a", 1)
    with pytest.raises(ValidationError):
        await lock.reissue("shard-0", "dialler-a", 1, True, TTL)
