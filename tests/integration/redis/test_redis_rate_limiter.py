"""The `RateLimiter` contract (burst, refill, separate keys) on the in-memory fake and on Redis;
then Redis alone: diallers share one bucket, and its Lua script is the domain's `take` exactly."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from voxcore_adapters.fakes.redis_fakes import InMemoryRateLimiter, ManualClock
from voxcore_adapters.redis import RedisRateLimiter, connect
from voxcore_domain.errors import ValidationError
from voxcore_domain.ratelimit import BucketState, TokenBucket, take, to_micros

pytestmark = pytest.mark.integration

Advance = Callable[[timedelta], Awaitable[None]]
Limiter = InMemoryRateLimiter | RedisRateLimiter

# Slow enough that the milliseconds a test spends on Redis refill nothing worth a call.
SLOW = TokenBucket(rate=0.01, burst=5)


@pytest.fixture
def limiter(backend: str, clock: ManualClock, redis_client: Redis) -> Limiter:
    return InMemoryRateLimiter(clock) if backend == "fake" else RedisRateLimiter(redis_client)


async def test_a_quiet_bucket_admits_a_full_burst_then_refuses(limiter: Limiter) -> None:
    admitted = [await limiter.take("trunk-1", SLOW) for _ in range(5)]
    assert all(a.allowed for a in admitted)
    assert [round(a.remaining) for a in admitted] == [4, 3, 2, 1, 0]
    refused = await limiter.take("trunk-1", SLOW)
    assert not refused.allowed
    assert timedelta(seconds=99) < refused.retry_after <= timedelta(seconds=100)


async def test_a_refused_request_takes_nothing(limiter: Limiter) -> None:
    bucket = TokenBucket(rate=0.01, burst=3)
    assert (await limiter.take("trunk-1", bucket, cost=2)).allowed
    assert not (await limiter.take("trunk-1", bucket, cost=2)).allowed
    assert (await limiter.take("trunk-1", bucket, cost=1)).allowed


async def test_tokens_come_back_at_the_rate(limiter: Limiter, advance: Advance) -> None:
    bucket = TokenBucket(rate=20, burst=2)
    assert (await limiter.take("trunk-1", bucket)).allowed
    assert (await limiter.take("trunk-1", bucket)).allowed
    refused = await limiter.take("trunk-1", bucket)
    assert not refused.allowed
    assert timedelta(0) < refused.retry_after <= timedelta(milliseconds=50)
    await advance(refused.retry_after)
    assert (await limiter.take("trunk-1", bucket)).allowed


async def test_a_long_pause_refills_no_more_than_the_burst(
    limiter: Limiter, advance: Advance
) -> None:
    bucket = TokenBucket(rate=50, burst=2)
    for _ in range(2):
        assert (await limiter.take("trunk-1", bucket)).allowed
    await advance(timedelta(milliseconds=200))  # ten tokens' worth
    results = [(await limiter.take("trunk-1", bucket)).allowed for _ in range(3)]
    assert results == [True, True, False]


async def test_each_key_has_its_own_bucket(limiter: Limiter) -> None:
    bucket = TokenBucket(rate=0.01, burst=1)
    assert (await limiter.take("trunk-1", bucket)).allowed
    assert not (await limiter.take("trunk-1", bucket)).allowed
    assert (await limiter.take("trunk:2", bucket)).allowed


@pytest.mark.parametrize(
    ("key", "cost", "field"), [("", 1, "key"), ("t", 0, "cost"), ("t", 6, "cost")]
)
async def test_bad_requests_are_refused_by_name(
    limiter: Limiter, key: str, cost: int, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        await limiter.take(key, SLOW, cost)
    assert refused.value.field == field


async def test_diallers_sharing_redis_share_the_bucket(redis_server_url: str) -> None:
    clients = [connect(redis_server_url) for _ in range(4)]
    try:
        limiters = [RedisRateLimiter(client) for client in clients]
        attempts = [limiters[n % 4].take("trunk-1", SLOW) for n in range(40)]
        admitted = [a for a in await asyncio.gather(*attempts) if a.allowed]
        assert len(admitted) == SLOW.burst
    finally:
        for client in clients:
            await client.aclose()


async def test_redis_forgets_a_bucket_once_it_would_be_full_again(redis_client: Redis) -> None:
    # A missing bucket counts as full, so the key only has to live until the bucket refills
    # (plus the script's one-second margin against rounding).
    bucket = TokenBucket(rate=10, burst=4)
    await RedisRateLimiter(redis_client).take("trunk-1", bucket, cost=3)
    ttl_ms = await redis_client.pttl("vox:rate:trunk-1")
    assert 1000 < ttl_ms <= 1300


buckets = st.builds(
    TokenBucket,
    rate=st.floats(0.5, 5_000, allow_nan=False, allow_infinity=False),
    burst=st.integers(1, 20),
)
steps = st.lists(st.tuples(st.integers(1, 20), st.sampled_from([0, 0, 0, 1, 3])), max_size=15)


@settings(max_examples=40, deadline=None)
@given(bucket=buckets, steps=steps)
def test_the_lua_script_is_the_domain_rule_exactly(
    redis_server_url: str, bucket: TokenBucket, steps: list[tuple[int, int]]
) -> None:
    """Every answer of the script equals `take` on the state the domain rule arrived at, at the
    instant the script read from Redis's clock (the answer's `at`)."""

    async def check() -> None:
        client = connect(redis_server_url)
        try:
            limiter = RedisRateLimiter(client)
            await client.delete("vox:rate:hypothesis")
            state: BucketState | None = None
            for cost, pause_ms in steps:
                cost = min(cost, bucket.burst)
                await asyncio.sleep(pause_ms / 1000)
                got = await limiter.take("hypothesis", bucket, cost)
                expected, state = take(bucket, state, to_micros(got.at), cost)
                assert got == expected
        finally:
            await client.aclose()

    asyncio.run(check())
