"""Redis adapters (redis-py's asyncio client): the fleet's slot registry, the per-shard leader
lock, the runtime-config cache, the live call-event stream and shared token buckets.

Every adapter takes a `redis.asyncio.Redis` (`connect` makes one from a URL) and a key prefix.
"""

from __future__ import annotations

from redis.asyncio import Redis

from voxcore_adapters.redis.config_cache import RedisRuntimeConfigCache
from voxcore_adapters.redis.events import RedisCallEvents
from voxcore_adapters.redis.leader import RedisLeaderLock
from voxcore_adapters.redis.pause import RedisPauseSwitch
from voxcore_adapters.redis.ratelimit import RedisRateLimiter
from voxcore_adapters.redis.slots import RedisSlotRegistry


def connect(url: str) -> Redis:
    """A client for `url` (`redis://host:port/db`) that decodes replies as UTF-8 text."""
    client: Redis = Redis.from_url(url, decode_responses=True)
    return client


__all__ = [
    "RedisCallEvents",
    "RedisLeaderLock",
    "RedisPauseSwitch",
    "RedisRateLimiter",
    "RedisRuntimeConfigCache",
    "RedisSlotRegistry",
    "connect",
]
