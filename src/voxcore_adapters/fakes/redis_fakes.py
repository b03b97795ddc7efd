"""In-memory fakes of the ports the Redis adapters implement, on an injected clock.

Each follows the same domain rule as its Redis adapter (`voxcore_domain.leadership`,
`voxcore_domain.ratelimit`, `voxcore_domain.slots.summarize`), checks its arguments with the
same helpers and encodes values with the same codec, and passes the same contract suites
(`tests/integration/redis`). Time is whatever the clock says: advance a `ManualClock` where a
real Redis would need the test to sleep. Not safe across threads; fine across asyncio tasks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from voxcore_adapters.redis.codec import (
    decode_config,
    decode_slot,
    encode_config,
    encode_slot,
    event_fields,
    event_from_fields,
)
from voxcore_adapters.redis.events import DEFAULT_MAXLEN, check_maxlen, check_read
from voxcore_adapters.redis.keys import require_text, rounded_ttl
from voxcore_domain import leadership
from voxcore_domain.callevents import CallEvent, StreamedEvent
from voxcore_domain.errors import ValidationError
from voxcore_domain.leadership import Leader, ShardLock
from voxcore_domain.model import Slot
from voxcore_domain.ports import Clock
from voxcore_domain.ratelimit import Admission, BucketState, TokenBucket, take, to_micros
from voxcore_domain.slots import DEFAULT_STALENESS, FleetCapacity, summarize


class ManualClock:
    """A `Clock` that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2024, 6, 5, 12, tzinfo=UTC)
        if self._now.utcoffset() is None:
            raise ValidationError("start", "must be a timezone-aware datetime")

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by `delta` (never back: Redis's clock does not either)."""
        if delta < timedelta(0):
            raise ValidationError("delta", f"must not be negative, got {delta}")
        self._now += delta
        return self._now


class InMemorySlotRegistry:
    """`SlotRegistry` in a dict; an entry vanishes `ttl` after its last heartbeat."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        # Stored encoded, as Redis stores it, so a slot that cannot round-trip fails here too.
        self._entries: dict[tuple[str, str], tuple[str, datetime]] = {}

    async def heartbeat(self, slot: Slot, ttl: timedelta) -> None:
        expires_at = self._clock.now() + rounded_ttl(ttl)
        self._entries[slot.host, slot.worker] = (encode_slot(slot), expires_at)

    async def slots(self) -> list[Slot]:
        now = self._clock.now()
        expired = [key for key, (_, expires_at) in self._entries.items() if now >= expires_at]
        for key in expired:
            del self._entries[key]
        return [decode_slot(self._entries[key][0]) for key in sorted(self._entries)]

    async def remove(self, host: str, worker: str) -> None:
        self._entries.pop((require_text("host", host), require_text("worker", worker)), None)

    async def capacity(
        self, now: datetime, staleness: timedelta = DEFAULT_STALENESS
    ) -> FleetCapacity:
        return summarize(await self.slots(), now, staleness)


class InMemoryLeaderLock:
    """`LeaderLock` over `voxcore_domain.leadership`, one `ShardLock` per shard."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._locks: dict[str, ShardLock] = {}

    async def acquire(self, shard: str, owner: str, ttl: timedelta) -> int | None:
        require_text("shard", shard)
        require_text("owner", owner)
        lock, token = leadership.acquire(
            self._locks.get(shard, ShardLock()), owner, self._clock.now(), rounded_ttl(ttl)
        )
        self._locks[shard] = lock
        return token

    async def renew(self, shard: str, owner: str, token: int, ttl: timedelta) -> bool:
        require_text("shard", shard)
        require_text("owner", owner)
        _check_token(token)
        lock, renewed = leadership.renew(
            self._locks.get(shard, ShardLock()), owner, token, self._clock.now(), rounded_ttl(ttl)
        )
        self._locks[shard] = lock
        return renewed

    async def release(self, shard: str, owner: str, token: int) -> None:
        require_text("shard", shard)
        require_text("owner", owner)
        _check_token(token)
        lock = self._locks.get(shard, ShardLock())
        self._locks[shard] = leadership.release(lock, owner, token, self._clock.now())

    async def reissue(
        self, shard: str, owner: str, token: int, floor: int, ttl: timedelta
    ) -> int | None:
        require_text("shard", shard)
        require_text("owner", owner)
        _check_token(token)
        _check_token(floor)
        lock, new = leadership.reissue(
            self._locks.get(shard, ShardLock()),
            owner,
            token,
            floor,
            self._clock.now(),
            rounded_ttl(ttl),
        )
        self._locks[shard] = lock
        return new

    async def holder(self, shard: str) -> Leader | None:
        require_text("shard", shard)
        return self._locks.get(shard, ShardLock()).holder(self._clock.now())


def _check_token(token: int) -> None:
    if isinstance(token, bool) or not isinstance(token, int):
        raise ValidationError("token", f"must be a whole number, got {token!r}")


class InMemoryRuntimeConfigCache:
    """`RuntimeConfigCache` in a dict of JSON texts with expiry times."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._entries: dict[str, tuple[str, datetime]] = {}

    async def get(self, agent_id: str) -> dict[str, object] | None:
        require_text("agent_id", agent_id)
        entry = self._entries.get(agent_id)
        if entry is None:
            return None
        data, expires_at = entry
        if self._clock.now() >= expires_at:
            del self._entries[agent_id]
            return None
        return decode_config(data)

    async def put(self, agent_id: str, config: Mapping[str, object], ttl: timedelta) -> None:
        require_text("agent_id", agent_id)
        data = encode_config(config)
        self._entries[agent_id] = (data, self._clock.now() + rounded_ttl(ttl))

    async def invalidate(self, agent_id: str) -> None:
        self._entries.pop(require_text("agent_id", agent_id), None)


class _Stream:
    """One campaign's events, with the last id handed out (kept after trimming, as Redis
    does, so ids never repeat)."""

    def __init__(self) -> None:
        self.entries: list[tuple[tuple[int, int], dict[str, str]]] = []
        self.last: tuple[int, int] = (0, 0)
        self.arrived = asyncio.Event()


def _parse_id(entry_id: str) -> tuple[int, int]:
    millis, _, sequence = entry_id.partition("-")
    return int(millis), int(sequence)


class InMemoryCallEvents:
    """`CallEvents` in lists, with Redis's id scheme (`<clock ms>-<sequence>`) and exact
    trimming to `maxlen`."""

    def __init__(self, clock: Clock, maxlen: int = DEFAULT_MAXLEN) -> None:
        self._clock = clock
        self._maxlen = check_maxlen(maxlen)
        self._streams: dict[str, _Stream] = {}

    def _stream(self, campaign_id: str) -> _Stream:
        return self._streams.setdefault(require_text("campaign_id", campaign_id), _Stream())

    async def publish(self, event: CallEvent) -> str:
        stream = self._stream(event.campaign_id)
        millis = to_micros(self._clock.now()) // 1000
        # Like Redis: a clock that has not moved on (or went back) continues the sequence.
        if millis > stream.last[0]:
            stream.last = (millis, 0)
        else:
            stream.last = (stream.last[0], stream.last[1] + 1)
        stream.entries.append((stream.last, event_fields(event)))
        del stream.entries[: -self._maxlen]
        # Wake every waiting reader, then give later readers a fresh event to wait on.
        stream.arrived.set()
        stream.arrived = asyncio.Event()
        return f"{stream.last[0]}-{stream.last[1]}"

    async def read(
        self,
        campaign_id: str,
        after: str = "0-0",
        count: int = 100,
        wait: timedelta | None = None,
    ) -> list[StreamedEvent]:
        stream = self._stream(campaign_id)
        check_read(after, count, wait)
        start = _parse_id(after)
        found = self._after(stream, start, count)
        if not found and wait is not None:
            arrived = stream.arrived
            try:
                async with asyncio.timeout(wait.total_seconds()):
                    await arrived.wait()
            except TimeoutError:
                return []
            found = self._after(stream, start, count)
        return found

    @staticmethod
    def _after(stream: _Stream, start: tuple[int, int], count: int) -> list[StreamedEvent]:
        later = [(key, fields) for key, fields in stream.entries if key > start][:count]
        return [
            StreamedEvent(f"{key[0]}-{key[1]}", event_from_fields(fields)) for key, fields in later
        ]

    async def last_id(self, campaign_id: str) -> str:
        stream = self._stream(campaign_id)
        if not stream.entries:
            return "0-0"
        key = stream.entries[-1][0]
        return f"{key[0]}-{key[1]}"


class InMemoryRateLimiter:
    """`RateLimiter` over `voxcore_domain.ratelimit.take`, on the injected clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._buckets: dict[str, BucketState] = {}

    async def take(self, key: str, bucket: TokenBucket, cost: int = 1) -> Admission:
        require_text("key", key)
        admission, state = take(bucket, self._buckets.get(key), to_micros(self._clock.now()), cost)
        self._buckets[key] = state
        return admission
