"""Runtime configuration for workers, cached in Redis (`RuntimeConfigCache`).

One JSON string key per agent, `vox:config:<agent_id>`, with a TTL so that a missed
invalidation heals itself; the Backend API invalidates on every change.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from redis.asyncio import Redis

from voxcore_adapters.redis.codec import decode_config, encode_config
from voxcore_adapters.redis.keys import DEFAULT_PREFIX, part, require_text, ttl_millis


def config_key(prefix: str, agent_id: str) -> str:
    return f"{prefix}:config:{part(require_text('agent_id', agent_id))}"


class RedisRuntimeConfigCache:
    """`RuntimeConfigCache` over Redis; values come back as JSON gives them (lists, not
    tuples; string keys)."""

    def __init__(self, client: Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self._client = client
        self._prefix = prefix

    async def get(self, agent_id: str) -> dict[str, object] | None:
        """The cached configuration, or None if it was never put, expired or was invalidated."""
        data = await self._client.get(config_key(self._prefix, agent_id))
        return None if data is None else decode_config(data)

    async def put(self, agent_id: str, config: Mapping[str, object], ttl: timedelta) -> None:
        key = config_key(self._prefix, agent_id)
        await self._client.set(key, encode_config(config), px=ttl_millis(ttl))

    async def invalidate(self, agent_id: str) -> None:
        await self._client.delete(config_key(self._prefix, agent_id))
