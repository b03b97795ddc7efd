"""A dialler wired to the in-memory fakes, on a manual clock."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from datetime import timedelta

import attrs
import pytest

from apps.dialler.loop import Dialler
from voxcore_adapters.fakes import (
    FakeTelephony,
    InMemoryCallLog,
    InMemoryCampaigns,
    InMemoryContactLeases,
    InMemoryLeaderLock,
    InMemorySlotRegistry,
    ManualClock,
)
from voxcore_domain.model import (
    Campaign,
    CampaignState,
    Contact,
    PacingSettings,
    RetryPolicy,
    Slot,
    SlotState,
)
from voxcore_domain.ports import AttachRequest, AttachResult

SLOT_TTL = timedelta(hours=200)
"""Slots in these tests never expire by themselves; staleness is what the dialler checks."""


class FakeFleet:
    """`FleetClient` that claims an idle slot in the registry, as a fleet worker does on
    `POST /attach`; or, with `refuse`, answers every host as full; or, with `delay_s`, takes
    that long (to overrun the abandon budget)."""

    def __init__(self, slots: InMemorySlotRegistry, clock: ManualClock) -> None:
        self.slots = slots
        self.clock = clock
        self.refuse = False
        self.delay_s = 0.0
        self.requests: list[tuple[AttachRequest, tuple[str, ...]]] = []

    async def attach(self, request: AttachRequest, hosts: Sequence[str]) -> AttachResult:
        self.requests.append((request, tuple(hosts)))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.refuse:
            return AttachResult(accepted=False, retry_after_s=1.0)
        now = self.clock.now()
        for host in hosts:
            for slot in await self.slots.slots():
                if slot.host == host and slot.state is SlotState.IDLE:
                    busy = attrs.evolve(
                        slot,
                        state=SlotState.BUSY,
                        call_id=request.call_id,
                        busy_since=now,
                        heartbeat_at=now,
                    )
                    await self.slots.heartbeat(busy, SLOT_TTL)
                    return AttachResult(accepted=True, host=host)
        return AttachResult(accepted=False)


@attrs.define
class World:
    clock: ManualClock
    campaigns: InMemoryCampaigns
    leases: InMemoryContactLeases
    slots: InMemorySlotRegistry
    lock: InMemoryLeaderLock
    telephony: FakeTelephony
    fleet: FakeFleet
    call_log: InMemoryCallLog
    campaign: Campaign

    def dialler(self, owner: str, **overrides: object) -> Dialler:
        options: dict[str, object] = {
            "campaigns": self.campaigns,
            "leases": self.leases,
            "slots": self.slots,
            "lock": self.lock,
            "telephony": self.telephony,
            "fleet": self.fleet,
            "call_log": self.call_log,
            "clock": self.clock,
            "owner": owner,
            "leader_ttl": timedelta(seconds=6),
            "lease_ttl": timedelta(minutes=65),
            "attach_budget_s": 0.5,
        }
        options.update(overrides)
        return Dialler(**options)  # type: ignore[arg-type]

    def add_contacts(self, n: int, start: int = 0) -> list[Contact]:
        contacts = [
            Contact(
                id=f"k{i:03d}",
                campaign_id=self.campaign.id,
                tenant_id=self.campaign.tenant_id,
                phone=f"+4420790{i:05d}",
                next_attempt_at=self.clock.now() - timedelta(hours=1),
            )
            for i in range(start, start + n)
        ]
        for contact in contacts:
            self.leases.add(contact)
        return contacts

    async def add_workers(self, n: int, host: str = "h1") -> None:
        for i in range(n):
            slot = Slot(host, f"w{i}", SlotState.IDLE, heartbeat_at=self.clock.now())
            await self.slots.heartbeat(slot, SLOT_TTL)

    async def beat_all(self) -> None:
        """Every worker heartbeats now, keeping its state."""
        for slot in await self.slots.slots():
            await self.slots.heartbeat(attrs.evolve(slot, heartbeat_at=self.clock.now()), SLOT_TTL)

    def advance(self, seconds: float) -> None:
        self.clock.advance(timedelta(seconds=seconds))


def make_campaign(mode: str = "progressive", max_attempts: int = 3) -> Campaign:
    return Campaign(
        id="c1",
        tenant_id="t1",
        name="Renewals",
        agent_id="a1",
        trunk_id="trunk1",
        caller_id="+442071234567",
        pacing=PacingSettings(mode=mode),
        retry=RetryPolicy(max_attempts=max_attempts),
        state=CampaignState.RUNNING,
    )


@pytest.fixture
def world() -> World:
    return new_world()


def new_world(clock: ManualClock | None = None) -> World:
    """A world of fakes; `clock`: its clock (a new `ManualClock` by default)."""
    clock = clock or ManualClock()
    slots = InMemorySlotRegistry(clock)
    campaign = make_campaign()
    return World(
        clock=clock,
        campaigns=InMemoryCampaigns([campaign]),
        leases=InMemoryContactLeases(rng=random.Random(7)),
        slots=slots,
        lock=InMemoryLeaderLock(clock),
        telephony=FakeTelephony(clock=clock),
        fleet=FakeFleet(slots, clock),
        call_log=InMemoryCallLog(),
        campaign=campaign,
    )
