"""Redis adapters (redis-py's asyncio client): the fleet's slot registry, the per-shard leader
lock, the runtime-config cache, the live call-event stream and shared token buckets.

Every adapter takes a `redis.asyncio.Redis` (`connect` makes one from a URL) and a key prefix.
redis-py is imported with the first adapter used (or `connect`), not with the pure `codec`
the in-memory fakes share.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voxcore_adapters import lazy

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from voxcore_adapters.redis.channels import RedisTrunkChannels
    from voxcore_adapters.redis.config_cache import RedisRuntimeConfigCache
    from voxcore_adapters.redis.events import RedisCallEvents
    from voxcore_adapters.redis.leader import RedisLeaderLock
    from voxcore_adapters.redis.pause import RedisPauseSwitch
    from voxcore_adapters.redis.ratelimit import RedisRateLimiter
    from voxcore_adapters.redis.slots import RedisSlotRegistry

_EXPORTS = {
    "RedisCallEvents": "voxcore_adapters.redis.events",
    "RedisLeaderLock": "voxcore_adapters.redis.leader",
    "RedisPauseSwitch": "voxcore_adapters.redis.pause",
    "RedisRateLimiter": "voxcore_adapters.redis.ratelimit",
    "RedisRuntimeConfigCache": "voxcore_adapters.redis.config_cache",
    "RedisSlotRegistry": "voxcore_adapters.redis.slots",
    "RedisTrunkChannels": "voxcore_adapters.redis.channels",
}
"""Where each adapter lives: its module (and redis-py) is imported on first use."""

__getattr__ = lazy.exports(__name__, _EXPORTS)


def connect(url: str, max_connections: int = 100) -> Redis:
    """A client for `url` (`redis://host:port/db`) that decodes replies as UTF-8 text.

    Commands beyond `max_connections` at once wait for a free connection (up to 20 s) rather
    than fail: redis-py's default pool raises `MaxConnectionsError` past 100, which a dialler
    tick starting a few hundred dial tasks (each renewing the leader lock) reaches.

    Its connections re-raise a cancellation that redis-py's write lost on Python 3.11
    (`voxcore_adapters.redis.cancel_guard`)."""
    from redis.asyncio import BlockingConnectionPool, Redis

    from voxcore_adapters.redis.cancel_guard import guard

    pool = BlockingConnectionPool.from_url(
        url, decode_responses=True, max_connections=max_connections, timeout=20
    )
    guard(pool)
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
