"""The fleet's slot registry in Redis (`SlotRegistry`).

Each worker's slot is one JSON string key, `vox:slot:<host>:<worker>`, set with the heartbeat's
TTL, so a worker that stops beating vanishes by itself. A sorted set `vox:slots` indexes the keys
by expiry time (the server's clock): listing drops index entries that have expired and reads the
rest, so the dialler never has to SCAN the keyspace every tick.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from redis.asyncio import Redis

from voxcore_adapters.redis.codec import decode_slot, encode_slot, text
from voxcore_adapters.redis.keys import DEFAULT_PREFIX, part, require_text, ttl_millis
from voxcore_domain.model import Slot
from voxcore_domain.slots import DEFAULT_STALENESS, FleetCapacity, summarize

# Score = expiry in server milliseconds; the key's own TTL is the same, from the same clock.
_HEARTBEAT = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], now_ms + tonumber(ARGV[2]), KEYS[1])
return now_ms
"""

# Members whose expiry has passed go; the rest are returned for the caller to MGET.
_LIVE_KEYS = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""


def slot_key(prefix: str, host: str, worker: str) -> str:
    return f"{prefix}:slot:{part(host)}:{part(worker)}"


class RedisSlotRegistry:
    """`SlotRegistry` over Redis; entries expire `ttl` after their last heartbeat."""

    def __init__(self, client: Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self._client = client
        self._prefix = prefix
        self._index = f"{prefix}:slots"
        self._heartbeat = client.register_script(_HEARTBEAT)
        self._live_keys = client.register_script(_LIVE_KEYS)

    async def heartbeat(self, slot: Slot, ttl: timedelta) -> None:
        """Store `slot` as its worker's current report, for `ttl` from now."""
        millis = ttl_millis(ttl)
        key = slot_key(self._prefix, slot.host, slot.worker)
        await self._heartbeat(keys=[key, self._index], args=[encode_slot(slot), millis])

    async def slots(self) -> list[Slot]:
        """Every slot whose last heartbeat has not expired, by host then worker."""
        keys = await self._live_keys(keys=[self._index])
        if not keys:
            return []
        values = await self._client.mget([text(key) for key in keys])
        # A key may expire between the two round trips: it is simply gone.
        found = [decode_slot(value) for value in values if value is not None]
        return sorted(found, key=lambda slot: (slot.host, slot.worker))

    async def remove(self, host: str, worker: str) -> None:
        """Forget a slot at once, e.g. when its worker shuts down cleanly."""
        key = slot_key(self._prefix, require_text("host", host), require_text("worker", worker))
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.zrem(self._index, key)
            await pipe.execute()

    async def capacity(
        self, now: datetime, staleness: timedelta = DEFAULT_STALENESS
    ) -> FleetCapacity:
        """The registered slots counted per host and state, as the dialler paces by them."""
        return summarize(await self.slots(), now, staleness)
