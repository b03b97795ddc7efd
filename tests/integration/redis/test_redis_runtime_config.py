"""The `RuntimeConfigCache` contract, on the in-memory fake, on Redis, and on Redis with the
API's near copies in front (`NearRuntimeConfigCache`, its change subscription live)."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from voxcore_adapters.fakes.redis_fakes import InMemoryRuntimeConfigCache, ManualClock
from voxcore_adapters.redis import RedisRuntimeConfigCache
from voxcore_adapters.redis.near_cache import NearRuntimeConfigCache
from voxcore_domain.errors import ValidationError

pytestmark = pytest.mark.integration

Advance = Callable[[timedelta], Awaitable[None]]
Cache = InMemoryRuntimeConfigCache | RedisRuntimeConfigCache | NearRuntimeConfigCache

TTL = timedelta(minutes=5)
CONFIG: Mapping[str, object] = {
    "voice": "alloy",
    "greeting": "Hello, this is Ada from Acme — is now a good time?",
    "max_turns": 40,
    "temperature": 0.4,
    "barge_in": True,
    "tools": [{"name": "book", "args": {"slot": None}}],
}


@pytest.fixture(params=["fake", "redis", "near"])
def backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


@pytest.fixture
async def cache(backend: str, clock: ManualClock, redis_client: Redis) -> AsyncIterator[Cache]:
    if backend == "fake":
        yield InMemoryRuntimeConfigCache(clock)
    elif backend == "redis":
        yield RedisRuntimeConfigCache(redis_client)
    else:
        async with watched(NearRuntimeConfigCache(redis_client, near_ttl=TTL)) as near:
            yield near


@contextlib.asynccontextmanager
async def watched(near: NearRuntimeConfigCache) -> AsyncIterator[NearRuntimeConfigCache]:
    """`near` with its change subscription running and confirmed."""
    watch = asyncio.create_task(near.watch())
    try:
        async with asyncio.timeout(5):
            while not near.live:
                await asyncio.sleep(0.01)
        yield near
    finally:
        watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch


async def test_an_agent_never_put_is_a_miss(cache: Cache) -> None:
    assert await cache.get("agent-1") is None


async def test_a_config_comes_back_as_put(cache: Cache) -> None:
    await cache.put("agent-1", CONFIG, TTL)
    assert await cache.get("agent-1") == CONFIG


async def test_values_come_back_as_json_gives_them(cache: Cache) -> None:
    await cache.put("agent-1", {"languages": ("en", "fr")}, TTL)
    assert await cache.get("agent-1") == {"languages": ["en", "fr"]}


async def test_a_put_replaces_the_agents_config_only(cache: Cache) -> None:
    await cache.put("agent-1", CONFIG, TTL)
    await cache.put("agent-2", {"voice": "nova"}, TTL)
    await cache.put("agent-1", {"voice": "echo"}, TTL)
    assert await cache.get("agent-1") == {"voice": "echo"}
    assert await cache.get("agent-2") == {"voice": "nova"}


async def test_invalidate_makes_the_next_get_a_miss(cache: Cache) -> None:
    await cache.put("agent-1", CONFIG, TTL)
    await cache.put("agent-2", CONFIG, TTL)
    await cache.invalidate("agent-1")
    await cache.invalidate("agent-never-cached")
    assert await cache.get("agent-1") is None
    assert await cache.get("agent-2") == CONFIG


async def test_a_config_expires_after_its_ttl(cache: Cache, advance: Advance) -> None:
    await cache.put("agent-1", CONFIG, timedelta(milliseconds=200))
    await cache.put("agent-2", CONFIG, TTL)
    await advance(timedelta(milliseconds=100))
    assert await cache.get("agent-1") == CONFIG
    await advance(timedelta(milliseconds=150))
    assert await cache.get("agent-1") is None
    assert await cache.get("agent-2") == CONFIG


@pytest.mark.parametrize(
    "config",
    [
        {"rate": math.nan},
        {"voices": {"alloy", "echo"}},
        {1: "numeric key"},
        ["not", "a", "mapping"],
    ],
)
async def test_a_config_json_cannot_carry_is_refused(cache: Cache, config: object) -> None:
    with pytest.raises(ValidationError) as refused:
        await cache.put("agent-1", config, TTL)  # type: ignore[arg-type]
    assert refused.value.field == "config"
    assert await cache.get("agent-1") is None


async def test_bad_agent_ids_and_ttls_are_refused_by_name(cache: Cache) -> None:
    with pytest.raises(ValidationError) as refused:
        await cache.get("")
    assert refused.value.field == "agent_id"
    with pytest.raises(ValidationError) as refused:
        await cache.put("agent-1", CONFIG, timedelta(0))
    assert refused.value.field == "ttl"
