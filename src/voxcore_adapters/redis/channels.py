"""`TrunkChannels` in Redis: one sorted set per trunk, `vox:channels:{<trunk>}`, each member a
call holding a channel, its score the millisecond its hold runs out on the server's clock (Lua
`TIME`). A claim removes the expired holds and adds its own only below the limit, in one
script: two diallers can never both take the last channel. The key expires with its last
hold, so a trunk nobody dials leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from redis.asyncio import Redis

from voxcore_adapters.redis.keys import DEFAULT_PREFIX, part, require_text, ttl_millis
from voxcore_domain.errors import ValidationError

_NOW = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
"""

# ARGV: ttl in ms, then call ids. Keeps the key until the longest hold runs out.
_EXTEND = """
local function extend(key, ttl)
  if redis.call('PTTL', key) < ttl then
    redis.call('PEXPIRE', key, ttl)
  end
end
"""

_CLAIM = (
    _NOW
    + _EXTEND
    + """
local ttl = tonumber(ARGV[1])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  if limit >= 0 and redis.call('ZCARD', KEYS[1]) >= limit then
    return 0
  end
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[2])
extend(KEYS[1], ttl)
return 1
"""
)

_HOLD = (
    _NOW
    + _EXTEND
    + """
local ttl = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[i])
end
extend(KEYS[1], ttl)
return #ARGV - 1
"""
)

_COUNT = (
    _NOW
    + """
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
"""
)


def channels_key(prefix: str, trunk_id: str) -> str:
    return f"{prefix}:channels:{{{part(require_text('trunk_id', trunk_id))}}}"


class RedisTrunkChannels:
    """`TrunkChannels` over Redis, on the server's clock."""

    def __init__(self, client: Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self._client = client
        self._prefix = prefix
        self._claim = client.register_script(_CLAIM)
        self._hold = client.register_script(_HOLD)
        self._count = client.register_script(_COUNT)

    async def claim(self, trunk_id: str, call_id: str, limit: int | None, ttl: timedelta) -> bool:
        if limit is not None and limit < 0:
            raise ValidationError("limit", f"must be 0 or more, got {limit}")
        args: list[str | int] = [
            ttl_millis(ttl),
            require_text("call_id", call_id),
            -1 if limit is None else limit,
        ]
        held = await self._claim(keys=[channels_key(self._prefix, trunk_id)], args=args)
        return bool(held)

    async def hold(self, trunk_id: str, call_ids: Sequence[str], ttl: timedelta) -> None:
        if not call_ids:
            return
        ids = [require_text("call_id", call_id) for call_id in call_ids]
        await self._hold(keys=[channels_key(self._prefix, trunk_id)], args=[ttl_millis(ttl), *ids])

    async def release(self, trunk_id: str, call_id: str) -> None:
        await self._client.zrem(channels_key(self._prefix, trunk_id), call_id)

    async def in_use(self, trunk_ids: Sequence[str]) -> dict[str, int]:
        if not trunk_ids:
            return {}
        # One key per script call (a cluster keeps each trunk's key in its own slot), all in
        # one round trip.
        pipe = self._client.pipeline(transaction=False)
        for trunk_id in trunk_ids:
            await self._count(keys=[channels_key(self._prefix, trunk_id)], args=[], client=pipe)
        counts = await pipe.execute()
        return {trunk_id: int(count) for trunk_id, count in zip(trunk_ids, counts, strict=True)}
