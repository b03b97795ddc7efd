"""`TrunkChannels` in memory, on a `Clock` (one process's diallers share one instance)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from voxcore_adapters.redis.keys import require_text, rounded_ttl
from voxcore_domain.errors import ValidationError
from voxcore_domain.ports import Clock


class InMemoryTrunkChannels:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._held: dict[str, dict[str, datetime]] = {}
        """Per trunk: each call holding a channel, and when its hold runs out."""
        self._barred: dict[str, dict[str, datetime]] = {}
        """Per trunk: each call closed out by another dialler, and until when it is refused."""

    def _live(self, trunk_id: str) -> dict[str, datetime]:
        now = self._clock.now()
        held = self._held.setdefault(trunk_id, {})
        for call_id in [c for c, until in held.items() if until <= now]:
            del held[call_id]
        return held

    def _is_barred(self, trunk_id: str, call_id: str) -> bool:
        until = self._barred.get(trunk_id, {}).get(call_id)
        return until is not None and until > self._clock.now()

    async def claim(self, trunk_id: str, call_id: str, limit: int | None, ttl: timedelta) -> bool:
        if limit is not None and limit < 0:
            raise ValidationError("limit", f"must be 0 or more, got {limit}")
        until = self._clock.now() + rounded_ttl(ttl)
        held = self._live(trunk_id)
        if self._is_barred(trunk_id, require_text("call_id", call_id)):
            return False
        if call_id not in held and limit is not None and len(held) >= limit:
            return False
        held[call_id] = until
        return True

    async def hold(self, trunk_id: str, call_ids: Sequence[str], ttl: timedelta) -> None:
        until = self._clock.now() + rounded_ttl(ttl)
        held = self._live(trunk_id)
        for call_id in call_ids:
            if not self._is_barred(trunk_id, require_text("call_id", call_id)):
                held[call_id] = until

    async def release(self, trunk_id: str, call_id: str) -> None:
        self._live(trunk_id).pop(call_id, None)

    async def in_use(self, trunk_ids: Sequence[str]) -> dict[str, int]:
        return {trunk_id: len(self._live(trunk_id)) for trunk_id in trunk_ids}

    async def close_out(self, trunk_id: str, call_ids: Sequence[str], barred: timedelta) -> int:
        now = self._clock.now()
        until = now + rounded_ttl(barred, "barred")
        ids = [require_text("call_id", call_id) for call_id in call_ids]
        held = self._live(require_text("trunk_id", trunk_id))
        bars = self._barred.setdefault(trunk_id, {})
        for call_id in [c for c, expiry in bars.items() if expiry <= now]:
            del bars[call_id]
        freed = 0
        for call_id in ids:
            freed += held.pop(call_id, None) is not None
            bars[call_id] = max(until, bars.get(call_id, until))
        return freed
