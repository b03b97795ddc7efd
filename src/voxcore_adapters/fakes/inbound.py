"""Inbound numbers in a dict, and webhook event claims in memory."""

from __future__ import annotations

from datetime import datetime, timedelta

from voxcore_adapters.redis.keys import require_text, rounded_ttl
from voxcore_domain.inbound import InboundNumber
from voxcore_domain.ports import Clock


class InMemoryInboundNumbers:
    """The `InboundNumbers` port over a dict; a number is unique as Mongo's index makes it."""

    def __init__(self) -> None:
        self._entries: dict[str, InboundNumber] = {}

    def add(self, entry: InboundNumber) -> bool:
        if entry.id in self._entries or self.by_number(entry.number) is not None:
            return False
        self._entries[entry.id] = entry
        return True

    def replace(self, entry: InboundNumber) -> bool:
        stored = self._entries.get(entry.id)
        if stored is None or stored.number != entry.number:
            return False
        self._entries[entry.id] = entry
        return True

    def get(self, entry_id: str) -> InboundNumber | None:
        return self._entries.get(entry_id)

    def by_number(self, number: str) -> InboundNumber | None:
        return next((e for e in self._entries.values() if e.number == number), None)

    def of_tenant(self, tenant_id: str) -> list[InboundNumber]:
        return [e for _, e in sorted(self._entries.items()) if e.tenant_id == tenant_id]

    def delete(self, entry_id: str) -> bool:
        return self._entries.pop(entry_id, None) is not None


class InMemoryEventDedupe:
    """The `EventDedupe` port: claims with expiry times on the given clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._claims: dict[str, datetime] = {}

    async def claim(self, event_id: str, ttl: timedelta) -> bool:
        require_text("event_id", event_id)
        now = self._clock.now()
        held_until = self._claims.get(event_id)
        if held_until is not None and now < held_until:
            return False
        self._claims[event_id] = now + rounded_ttl(ttl)
        return True

    async def release(self, event_id: str) -> None:
        self._claims.pop(event_id, None)
