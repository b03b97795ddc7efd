"""What the API's near config copies add to the Redis cache: repeated reads stay in the
process, yet every change made through any process reaches every process's next reads, and
nothing is served near while the change subscription is down."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from tests.integration.redis.test_redis_runtime_config import watched
from voxcore_adapters.redis import RedisRuntimeConfigCache, connect
from voxcore_adapters.redis.near_cache import NearRuntimeConfigCache

pytestmark = pytest.mark.integration

TTL = timedelta(minutes=5)


async def redis_gets(client: Redis) -> int:
    stats = await client.info("commandstats")
    return int(stats.get("cmdstat_get", {}).get("calls", 0))


async def eventually(check: Callable[[], Awaitable[bool]], within_s: float = 3.0) -> None:
    async with asyncio.timeout(within_s):
        while not await check():
            await asyncio.sleep(0.02)


@pytest.fixture
async def other_client(redis_server_url: str) -> AsyncIterator[Redis]:
    """A second connection pool: another API process's view of the same Redis."""
    client = connect(redis_server_url)
    yield client
    await client.aclose()


async def test_repeated_reads_do_not_reach_redis(redis_client: Redis) -> None:
    async with watched(NearRuntimeConfigCache(redis_client, near_ttl=TTL)) as near:
        await RedisRuntimeConfigCache(redis_client).put("agent-1", {"voice": "alloy"}, TTL)
        assert await near.get("agent-1") == {"voice": "alloy"}
        before = await redis_gets(redis_client)
        for _ in range(20):
            assert await near.get("agent-1") == {"voice": "alloy"}
        assert await redis_gets(redis_client) == before


async def test_a_near_copy_cannot_be_changed_by_its_reader(redis_client: Redis) -> None:
    async with watched(NearRuntimeConfigCache(redis_client, near_ttl=TTL)) as near:
        await near.put("agent-1", {"prompts": {"hello": "Hi"}}, TTL)
        first = await near.get("agent-1")
        assert first is not None
        first["prompts"] = {}
        assert await near.get("agent-1") == {"prompts": {"hello": "Hi"}}


async def test_another_process_change_reaches_this_process(
    redis_client: Redis, other_client: Redis
) -> None:
    async with (
        watched(NearRuntimeConfigCache(redis_client, near_ttl=TTL)) as here,
        watched(NearRuntimeConfigCache(other_client, near_ttl=TTL)) as there,
    ):
        await there.put("agent-1", {"version": 1}, TTL)
        assert await here.get("agent-1") == {"version": 1}

        await there.put("agent-1", {"version": 2}, TTL)

        async def sees_version_2() -> bool:
            return await here.get("agent-1") == {"version": 2}

        await eventually(sees_version_2)

        await there.invalidate("agent-1")

        async def sees_nothing() -> bool:
            return await here.get("agent-1") is None

        await eventually(sees_nothing)


async def test_nothing_is_served_near_while_the_subscription_is_down(
    redis_client: Redis, other_client: Redis
) -> None:
    async with watched(NearRuntimeConfigCache(redis_client, near_ttl=TTL)) as near:
        await near.put("agent-1", {"voice": "alloy"}, TTL)
        assert await near.get("agent-1") == {"voice": "alloy"}

        # Cut the subscription's connection from the server's side, as a restart or a network
        # fault would; a change made meanwhile must not be hidden by the near copy.
        await other_client.client_kill_filter(_type="pubsub")

        async def down() -> bool:
            return not near.live

        await eventually(down)
        await other_client.set("vox:config:agent-1", '{"voice": "echo"}', px=60_000)
        before = await redis_gets(redis_client)
        assert await near.get("agent-1") == {"voice": "echo"}
        assert await redis_gets(redis_client) == before + 1

        async def live_again() -> bool:
            return near.live

        await eventually(live_again)
        assert await near.get("agent-1") == {"voice": "echo"}


async def test_the_oldest_copy_goes_when_the_near_cache_is_full(redis_client: Redis) -> None:
    near_cache = NearRuntimeConfigCache(redis_client, near_ttl=TTL, max_entries=2)
    async with watched(near_cache) as near:
        for agent in ("agent-1", "agent-2", "agent-3"):
            await RedisRuntimeConfigCache(redis_client).put(agent, {"agent": agent}, TTL)
            await near.get(agent)
        before = await redis_gets(redis_client)
        await near.get("agent-2")
        await near.get("agent-3")
        assert await redis_gets(redis_client) == before
        assert await near.get("agent-1") == {"agent": "agent-1"}
        assert await redis_gets(redis_client) == before + 1


async def test_a_near_copy_never_outlives_its_redis_entry(redis_client: Redis) -> None:
    async with watched(NearRuntimeConfigCache(redis_client, near_ttl=TTL)) as near:
        await near.put("agent-1", {"voice": "alloy"}, timedelta(milliseconds=300))
        assert await near.get("agent-1") == {"voice": "alloy"}
        await asyncio.sleep(0.4)
        assert await near.get("agent-1") is None
