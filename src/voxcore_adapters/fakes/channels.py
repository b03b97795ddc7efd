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

    def _live(self, trunk_id: str) -> dict[str, datetime]:
        now = self._clock.now()
        held = self._held.setdefault(trunk_id, {})
        for call_id in [c for c, until in held.items() if until <= now]:
            del held[call_id]
        return held

    async def claim(self, trunk_id: str, call_id: str, limit: int | None, ttl: timedelta) -> bool:
        if limit is not None and limit < 0:
            raise ValidationError("limit", f"must be 0 or more, got {limit}")
        until = self._clock.now() + rounded_ttl(ttl)
        held = self._live(trunk_id)
        if call_id not in held and limit is not None and len(held) >= limit:
            return False
        held[require_text("call_id", call_id)] = until
        return True

    async def hold(self, trunk_id: str, call_ids: Sequence[str], ttl: timedelta) -> None:
        until = self._clock.now() + rounded_ttl(ttl)
        held = self._live(trunk_id)
        for call_id in call_ids:
            held[require_text("call_id", call_id)] = until

    async def release(self, trunk_id: str, call_id: str) -> None:
        self._live(trunk_id).pop(call_id, None)

    async def in_use(self, trunk_ids: Sequence[str]) -> dict[str, int]:
        return {trunk_id: len(self._live(trunk_id)) for trunk_id in trunk_ids}
