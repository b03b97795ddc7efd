"""The per-shard leader lock in Redis (`LeaderLock`), following `voxcore_domain.leadership`.

Two keys per shard, hash-tagged so they live in one cluster slot:
`vox:leader:{<shard>}` holds `"<token> <owner>"` with the lease's TTL (SET NX PX), and
`vox:leader:{<shard>}:fence` counts the tokens handed out (INCR, never expires). Acquire,
renew and release are Lua scripts, so "check the holder, then act" is one atomic step.

The fence counter must survive as long as any store remembers a token: if Redis loses it
(FLUSHALL, a failover to a replica that had not seen the INCR), tokens start again from 1 and
stores that fence by token refuse the new leader until they are reset.
"""

from __future__ import annotations

from datetime import timedelta

from redis.asyncio import Redis

from voxcore_adapters.redis.codec import text
from voxcore_adapters.redis.keys import DEFAULT_PREFIX, part, require_text, ttl_millis
from voxcore_domain.errors import ValidationError
from voxcore_domain.leadership import Leader

# INCR only when the shard is free, so tokens stay dense and match the in-memory rule.
_ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return false
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token .. ' ' .. ARGV[1], 'NX', 'PX', ARGV[2])
return token
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


# Only the live holder may move the counter, so a token stays unique to one holding.
_REISSUE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return false
end
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
local floor = tonumber(ARGV[2])
if current < floor then
  redis.call('SET', KEYS[2], floor)
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token .. ' ' .. ARGV[3], 'PX', ARGV[4])
return token
"""


def lock_key(prefix: str, shard: str) -> str:
    return f"{prefix}:leader:{{{part(shard)}}}"


def _value(owner: str, token: int) -> str:
    require_text("owner", owner)
    if isinstance(token, bool) or not isinstance(token, int):
        raise ValidationError("token", f"must be a whole number, got {token!r}")
    return f"{token} {owner}"


class RedisLeaderLock:
    """`LeaderLock` over Redis: the lease expires by the server's clock."""

    def __init__(self, client: Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self._client = client
        self._prefix = prefix
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._reissue = client.register_script(_REISSUE)

    def _keys(self, shard: str) -> list[str]:
        key = lock_key(self._prefix, require_text("shard", shard))
        return [key, f"{key}:fence"]

    async def acquire(self, shard: str, owner: str, ttl: timedelta) -> int | None:
        """The new fencing token if the shard was free and `owner` now holds it, else None
        (also when `owner` itself holds it: a holder renews)."""
        keys = self._keys(shard)
        require_text("owner", owner)
        token = await self._acquire(keys=keys, args=[owner, ttl_millis(ttl)])
        return None if token is None else int(token)

    async def renew(self, shard: str, owner: str, token: int, ttl: timedelta) -> bool:
        """Extend the lease to `ttl` from now if `owner` with `token` still holds the shard."""
        keys = self._keys(shard)
        value = _value(owner, token)
        renewed = await self._renew(keys=keys[:1], args=[value, ttl_millis(ttl)])
        return bool(renewed)

    async def release(self, shard: str, owner: str, token: int) -> None:
        """Free the shard if `owner` with `token` still holds it; otherwise do nothing, so a
        stale holder cannot free its successor's lock."""
        keys = self._keys(shard)
        await self._release(keys=keys[:1], args=[_value(owner, token)])

    async def reissue(
        self, shard: str, owner: str, token: int, floor: int, ttl: timedelta
    ) -> int | None:
        """A new token above `floor` and the counter if `owner` with `token` still holds the
        shard, which it keeps for `ttl`; else None."""
        keys = self._keys(shard)
        value = _value(owner, token)
        if isinstance(floor, bool) or not isinstance(floor, int) or floor < 0:
            raise ValidationError("floor", f"must be a whole number, got {floor!r}")
        new = await self._reissue(keys=keys, args=[value, floor, owner, ttl_millis(ttl)])
        return None if new is None else int(new)

    async def holder(self, shard: str) -> Leader | None:
        """Who holds the shard now, for operators and tests."""
        value = await self._client.get(self._keys(shard)[0])
        if value is None:
            return None
        token, _, owner = text(value).partition(" ")
        return Leader(owner, int(token))
