"""Fixtures for the Redis adapters' tests: one Redis (or Valkey) per session, flushed before
each test, and `backend`, which runs a contract test once on the in-memory fake with a manual
clock and once on Redis in real time (`advance` and `now` follow the backend's clock)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from voxcore_adapters.fakes.redis_fakes import ManualClock
from voxcore_adapters.redis import connect
from voxcore_adapters.testing.redis_server import redis_url


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    """A server for the whole session: `VOX_TEST_REDIS_URL`, or one started on loopback."""
    with redis_url() as url:
        yield url


@pytest.fixture
async def redis_client(redis_server_url: str) -> AsyncIterator[Redis]:
    """A client on an empty database (FLUSHDB first, so each test starts clean)."""
    client = connect(redis_server_url)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture(params=["fake", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    """Which implementation a contract test runs on: the in-memory fake or Redis."""
    backend: str = request.param
    return backend


@pytest.fixture
def clock() -> ManualClock:
    """The fakes' clock; Redis keeps its own."""
    return ManualClock()


@pytest.fixture
def advance(backend: str, clock: ManualClock) -> Callable[[timedelta], Awaitable[None]]:
    """Let time pass: on the manual clock for the fake, for real (sleeping) on Redis."""

    async def advance(delta: timedelta) -> None:
        if backend == "fake":
            clock.advance(delta)
        else:
            await asyncio.sleep(delta.total_seconds())

    return advance


@pytest.fixture
def now(backend: str, clock: ManualClock) -> Callable[[], datetime]:
    """The current instant on the clock the backend runs by."""
    return clock.now if backend == "fake" else lambda: datetime.now(UTC)
