"""Token buckets in Redis (`RateLimiter`), e.g. carrier calls per second per trunk.

One hash per bucket, `vox:rate:<key>` with fields `tokens` (micro-tokens) and `at`
(microseconds), updated by one Lua script that reads the clock with TIME: every dialler
sharing the Redis shares the bucket and its clock, whatever its own clock says. The script is
`voxcore_domain.ratelimit.take` line for line; the contract tests check that it agrees with it
exactly. A bucket's key expires once the bucket would be full again (plus a second of margin
against rounding), since a missing bucket counts as full.
"""

from __future__ import annotations

from datetime import timedelta

from redis.asyncio import Redis

from voxcore_adapters.redis.keys import DEFAULT_PREFIX, part, require_text
from voxcore_domain.ratelimit import MICRO, Admission, TokenBucket, from_micros

# Lua numbers are IEEE doubles like Python floats, and every count stays a whole number far
# below 2**53, so the arithmetic is exact and matches the domain's `take`. Counts are written
# with %d: tostring would use %.14g and round microsecond timestamps.
_TAKE = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local needed = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local stored = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = capacity
local at = now
if stored[1] and stored[2] then
  local elapsed = math.max(0, now - tonumber(stored[2]))
  tokens = math.min(capacity, tonumber(stored[1]) + math.floor(elapsed * rate))
  at = math.max(tonumber(stored[2]), now)
end
local wait = 0
local allowed = 0
if tokens >= needed then
  tokens = tokens - needed
  allowed = 1
else
  wait = math.ceil((needed - tokens) / rate)
  while math.floor(wait * rate) < needed - tokens do
    wait = wait + 1
  end
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%d', tokens), 'at', string.format('%d', at))
local full_in_ms = math.ceil(math.ceil((capacity - tokens) / rate) / 1000)
redis.call('PEXPIRE', KEYS[1], full_in_ms + 1000)
return {allowed, string.format('%d', tokens), string.format('%d', wait), string.format('%d', now)}
"""


def bucket_key(prefix: str, key: str) -> str:
    return f"{prefix}:rate:{part(require_text('key', key))}"


class RedisRateLimiter:
    """`RateLimiter` over Redis, on the server's clock."""

    def __init__(self, client: Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self._client = client
        self._prefix = prefix
        self._take = client.register_script(_TAKE)

    async def take(self, key: str, bucket: TokenBucket, cost: int = 1) -> Admission:
        """Take `cost` tokens from bucket `key` if it has them; how long to wait if not."""
        redis_key = bucket_key(self._prefix, key)
        needed = bucket.check_cost(cost)
        args = [repr(float(bucket.rate)), str(bucket.capacity), str(needed)]
        allowed, tokens, wait_us, now_us = await self._take(keys=[redis_key], args=args)
        return Admission(
            allowed=bool(allowed),
            remaining=int(tokens) / MICRO,
            retry_after=timedelta(microseconds=int(wait_us)),
            at=from_micros(int(now_us)),
        )
