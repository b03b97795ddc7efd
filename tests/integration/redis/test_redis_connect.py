"""`connect`'s client under more concurrent commands than it has connections."""

from __future__ import annotations

import asyncio

import pytest

from voxcore_adapters.redis import connect

pytestmark = pytest.mark.integration


async def test_commands_beyond_the_pool_wait_for_a_connection(redis_server_url: str) -> None:
    client = connect(redis_server_url, max_connections=4)
    try:
        # BLPOP with a timeout holds its connection: 12 at once need three rounds of 4.
        results = await asyncio.gather(*(client.blpop([f"empty-{i}"], 0.2) for i in range(12)))
        assert results == [None] * 12
        assert await client.ping()
    finally:
        await client.aclose()
