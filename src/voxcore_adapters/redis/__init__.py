"""Redis adapters (redis-py's asyncio client): the fleet's slot registry, the per-shard leader
lock, the runtime-config cache, the live call-event stream and shared token buckets.

Every adapter takes a `redis.asyncio.Redis` (`connect` makes one from a URL) and a key prefix.
"""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

from voxcore_adapters.redis.channels import RedisTrunkChannels
from voxcore_adapters.redis.config_cache import RedisRuntimeConfigCache
from voxcore_adapters.redis.events import RedisCallEvents
from voxcore_adapters.redis.leader import RedisLeaderLock
from voxcore_adapters.redis.pause import RedisPauseSwitch
from voxcore_adapters.redis.ratelimit import RedisRateLimiter
from voxcore_adapters.redis.slots import RedisSlotRegistry


def connect(url: str, max_connections: int = 100) -> Redis:
    """A client for `url` (`redis://host:port/db`) that decodes replies as UTF-8 text.

    Commands beyond `max_connections` at once wait for a free connection (up to 20 s) rather
    than fail: redis-py's default pool raises `MaxConnectionsError` past 100, which a dialler
    tick starting a few hundred dial tasks (each renewing the leader lock) reaches."""
    pool = BlockingConnectionPool.from_url(
        url, decode_responses=True, max_connections=max_connections, timeout=20
    )
    client: Redis = Redis.from_pool(pool)
    return client


__all__ = [
    "RedisCallEvents",
    "RedisLeaderLock",
    "RedisPauseSwitch",
    "RedisRateLimiter",
    "RedisRuntimeConfigCache",
    "RedisSlotRegistry",
    "RedisTrunkChannels",
    "connect",
]
