"""Webhook events acted on, remembered in Redis (`EventDedupe`).

One key per event, `vox:event:<id>`, set with `SET NX PX`: of two deliveries of one event, only
the first gets the claim, across every API process sharing the Redis; the TTL outlives the
sender's retries and then frees the memory.
"""

from __future__ import annotations

from datetime import timedelta

from redis.asyncio import Redis

from voxcore_adapters.redis.keys import DEFAULT_PREFIX, part, require_text, ttl_millis


def event_key(prefix: str, event_id: str) -> str:
    return f"{prefix}:event:{part(require_text('event_id', event_id))}"


class RedisEventDedupe:
    """`EventDedupe` over Redis."""

    def __init__(self, client: Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self._client = client
        self._prefix = prefix

    async def claim(self, event_id: str, ttl: timedelta) -> bool:
        key = event_key(self._prefix, event_id)
        return bool(await self._client.set(key, "1", nx=True, px=ttl_millis(ttl)))

    async def release(self, event_id: str) -> None:
        await self._client.delete(event_key(self._prefix, event_id))
