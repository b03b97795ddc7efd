"""`TrunkChannels` in Redis: one sorted set per trunk, `vox:channels:{<trunk>}`, each member a
call holding a channel, its score the millisecond its hold runs out on the server's clock (Lua
`TIME`). A claim removes the expired holds and adds its own only below the limit, in one
script: two diallers can never both take the last channel. The key expires with its last
hold, so a trunk nobody dials leaves nothing behind.

A call closed out by another dialler (a new leader taking a shard over ended it) is freed and
barred in one script: `vox:channels:{<trunk>}:closed`, a sorted set of those calls scored by
when their bar runs out, which every claim and hold checks in the same step, so their old
holder cannot take the channel back. Both keys share the trunk's hash tag (one cluster slot).
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

# KEYS[2]: the calls closed out by another dialler, scored by when their bar runs out.
_BARRED = """
local function barred(call_id)
  local expiry = redis.call('ZSCORE', KEYS[2], call_id)
  return expiry and tonumber(expiry) > now
end
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
    + _BARRED
    + """
local ttl = tonumber(ARGV[1])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if barred(ARGV[2]) then
  return 0
end
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
    + _BARRED
    + """
local ttl = tonumber(ARGV[1])
local held = 0
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 2, #ARGV do
  if not barred(ARGV[i]) then
    redis.call('ZADD', KEYS[1], now + ttl, ARGV[i])
    held = held + 1
  end
end
if held > 0 then
  extend(KEYS[1], ttl)
end
return held
"""
)

# ARGV: how long the bar lasts in ms, then call ids. A bar already longer is kept.
_CLOSE_OUT = (
    _NOW
    + _EXTEND
    + """
local barred = tonumber(ARGV[1])
local freed = 0
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
for i = 2, #ARGV do
  freed = freed + redis.call('ZREM', KEYS[1], ARGV[i])
  local expiry = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[i]) or '0')
  if expiry < now + barred then
    redis.call('ZADD', KEYS[2], now + barred, ARGV[i])
  end
end
extend(KEYS[2], barred)
return freed
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


def _keys(prefix: str, trunk_id: str) -> list[str]:
    """The trunk's holds and its closed-out calls."""
    key = channels_key(prefix, trunk_id)
    return [key, f"{key}:closed"]


class RedisTrunkChannels:
    """`TrunkChannels` over Redis, on the server's clock."""

    def __init__(self, client: Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self._client = client
        self._prefix = prefix
        self._claim = client.register_script(_CLAIM)
        self._hold = client.register_script(_HOLD)
        self._count = client.register_script(_COUNT)
        self._close_out = client.register_script(_CLOSE_OUT)

    async def claim(self, trunk_id: str, call_id: str, limit: int | None, ttl: timedelta) -> bool:
        if limit is not None and limit < 0:
            raise ValidationError("limit", f"must be 0 or more, got {limit}")
        args: list[str | int] = [
            ttl_millis(ttl),
            require_text("call_id", call_id),
            -1 if limit is None else limit,
        ]
        held = await self._claim(keys=_keys(self._prefix, trunk_id), args=args)
        return bool(held)

    async def hold(self, trunk_id: str, call_ids: Sequence[str], ttl: timedelta) -> None:
        if not call_ids:
            return
        ids = [require_text("call_id", call_id) for call_id in call_ids]
        await self._hold(keys=_keys(self._prefix, trunk_id), args=[ttl_millis(ttl), *ids])

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

    async def close_out(self, trunk_id: str, call_ids: Sequence[str], barred: timedelta) -> int:
        millis = ttl_millis(barred, "barred")
        ids = [require_text("call_id", call_id) for call_id in call_ids]
        if not ids:
            return 0
        freed = await self._close_out(keys=_keys(self._prefix, trunk_id), args=[millis, *ids])
        return int(freed)
