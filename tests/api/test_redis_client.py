"""The API's Redis client against a real server: a cancelled request's Redis call stops."""

from __future__ import annotations

import asyncio
import random

import pytest

from apps.api.deps import redis_client
from apps.api.settings import Backend, Settings
from tests.api.support import ADMIN_KEY, INTERNAL_TOKEN
from voxcore_adapters.redis.cancel_guard import GuardedConnection

pytestmark = pytest.mark.integration


async def test_a_cancelled_call_on_the_api_client_stops(redis_server_url: str) -> None:
    settings = Settings(
        admin_key=ADMIN_KEY,
        internal_token=INTERNAL_TOKEN,
        backend=Backend.REAL,
        redis_url=redis_server_url,
        store_timeout_s=2.0,
    )
    client = redis_client(settings)
    assert client.connection_pool.connection_class is GuardedConnection
    rng = random.Random(1)

    async def busy() -> str:
        task = asyncio.current_task()
        assert task is not None
        while not task.cancelling():
            await client.ping()
        return "went on after its cancel"

    try:
        for round_ in range(100):
            task = asyncio.create_task(busy())
            await asyncio.sleep(rng.uniform(0, 0.002))
            task.cancel()
            await asyncio.wait([task], timeout=1.0)
            assert task.cancelled(), f"round {round_}: {task}"
    finally:
        await client.aclose()
