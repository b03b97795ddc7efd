"""The dialler's tick keeps to trunk limits, the platform pause, tenant caps and its shard."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import attrs

from apps.dialler.loop import Dialler
from tests.dialler.conftest import SLOT_TTL, World, make_campaign
from voxcore_adapters.fakes import Callee, InMemoryPauseSwitch, InMemoryTenants
from voxcore_domain.model import Campaign, ContactState, SlotState, Tenant
from voxcore_domain.ratelimit import Admission, TokenBucket
from voxcore_domain.shards import shard_of
from voxcore_domain.trunklimits import BreakerPolicy, Circuit
from voxcore_domain.trunks import Trunk


class TrunkTable:
    """The `Trunks` port over a dict, for these tests (the store's own fake and Mongo adapter
    belong to the trunk API's work)."""

    def __init__(self, *trunks: Trunk) -> None:
        self._trunks = {t.id: t for t in trunks}

    def put(self, trunk: Trunk) -> None:
        self._trunks[trunk.id] = trunk

    def get(self, trunk_id: str) -> Trunk | None:
        return self._trunks.get(trunk_id)

    def of_tenant(self, tenant_id: str) -> list[Trunk]:
        return [t for t in self.all() if t.tenant_id == tenant_id]

    def all(self) -> list[Trunk]:
        return [self._trunks[k] for k in sorted(self._trunks)]

    def delete(self, trunk_id: str) -> bool:
        return self._trunks.pop(trunk_id, None) is not None


def trunk(key: str = "trunk1", cps: float = 100.0, channels: int | None = None) -> Trunk:
    return Trunk(key, "t1", key, f"ST_{key}", cps=cps, channels=channels)


class Waits:
    """Stands in for `asyncio.sleep` in the trunk guard: records each wait, waits none."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


async def run_tick(dialler: Dialler, world: World) -> dict[str, int]:
    report = await dialler.tick(world.clock.now())
    await dialler.wait_idle()
    assert dialler.failures == []
    return dict(report.leased)


async def test_a_trunk_cps_limit_is_the_tick_budget_and_dials_are_spread_over_it(
    world: World,
) -> None:
    world.add_contacts(30)
    await world.add_workers(20)
    waits = Waits()
    dialler = world.dialler("d1", trunks=TrunkTable(trunk(cps=2.0)), trunk_sleep=waits)

    assert await run_tick(dialler, world) == {"c1": 4}

    assert len(world.telephony.placed) == 4
    assert sorted(waits.seconds) == [0.5, 1.0, 1.5]


async def test_a_trunk_channel_limit_counts_the_calls_in_progress(world: World) -> None:
    world.add_contacts(30)
    await world.add_workers(20)
    dialler = world.dialler("d1", trunks=TrunkTable(trunk(channels=3)))

    assert await run_tick(dialler, world) == {"c1": 3}
    # All three answered and sit on workers: the trunk's channels are all taken.
    assert dialler.in_flight == 3
    world.advance(2)
    await world.beat_all()
    assert await run_tick(dialler, world) == {}


async def test_a_campaign_on_an_unknown_trunk_dials_nothing(world: World) -> None:
    world.add_contacts(5)
    await world.add_workers(5)
    dialler = world.dialler("d1", trunks=TrunkTable(trunk("another")))

    assert await run_tick(dialler, world) == {}
    assert world.telephony.placed == []


async def test_the_platform_pause_stops_new_dials_and_lets_calls_go_on(world: World) -> None:
    world.add_contacts(10)
    await world.add_workers(4)
    pause = InMemoryPauseSwitch()
    dialler = world.dialler("d1", pause=pause)
    assert await run_tick(dialler, world) == {"c1": 4}
    on_workers = dialler.in_flight
    assert on_workers == 4

    await pause.set_paused(True)
    world.advance(2)
    await world.beat_all()
    report = await dialler.tick(world.clock.now())
    assert report.planned == {"c1": 0}
    assert dialler.in_flight == on_workers

    await pause.set_paused(False)
    await world.add_workers(8)
    report = await dialler.tick(world.clock.now())
    await dialler.wait_idle()
    assert report.planned["c1"] > 0


async def test_a_tenant_cap_limits_the_slots_its_campaigns_fill(world: World) -> None:
    world.add_contacts(20)
    await world.add_workers(10)
    tenants = InMemoryTenants()
    tenants.put(Tenant("t1", "Acme", max_concurrency=3))
    dialler = world.dialler("d1", tenants=tenants)

    assert await run_tick(dialler, world) == {"c1": 3}


async def test_a_failing_carrier_takes_its_trunk_down_and_other_trunks_keep_dialling(
    world: World,
) -> None:
    other = attrs.evolve(make_campaign(), id="c2", trunk_id="trunk2")
    world.campaigns.put(other)
    for contact in world.add_contacts(10):
        world.telephony.script(contact.phone, Callee.rejecting(503, "Service Unavailable"))
    add_contacts_to(world, other, 10)
    await world.add_workers(4)
    policy = BreakerPolicy(failures=2, open_s=30.0)
    trunks = TrunkTable(trunk("trunk1"), trunk("trunk2"))
    dialler = world.dialler("d1", trunks=trunks, breaker=policy)

    assert await run_tick(dialler, world) == {"c1": 2, "c2": 2}
    state = dialler.trunk_guard.states["trunk1"]
    assert state.circuit(world.clock.now().timestamp()) is Circuit.OPEN
    world.advance(2)
    await world.beat_all()
    # The down trunk's campaign gives up its slots to the campaign that can dial.
    assert await run_tick(dialler, world) == {"c2": 2}
    assert dialler.in_flight == 4
    # After the cool-down one probe goes out; it fails, so the trunk stays down.
    world.advance(30)
    for slot in await world.slots.slots():
        if slot.call_id is not None:
            await world.slots.heartbeat(
                attrs.evolve(
                    slot, state=SlotState.IDLE, call_id=None, heartbeat_at=world.clock.now()
                ),
                SLOT_TTL,
            )
    await world.beat_all()
    placed = len([p for p in world.telephony.placed if p.request.trunk_id == "ST_trunk1"])
    leased = await run_tick(dialler, world)
    assert leased.get("c1") == 1
    after = len([p for p in world.telephony.placed if p.request.trunk_id == "ST_trunk1"])
    assert after == placed + 1
    state = dialler.trunk_guard.states["trunk1"]
    assert state.circuit(world.clock.now().timestamp()) is Circuit.OPEN
    assert state.down_for_s == 60.0


def add_contacts_to(world: World, campaign: Campaign, n: int) -> None:
    for contact in world.add_contacts(n, start=500):
        world.leases.add(attrs.evolve(contact, id=f"x{contact.id}", campaign_id=campaign.id))


async def test_each_dialler_plans_only_its_shards_campaigns(world: World) -> None:
    ids = [f"camp-{i}" for i in range(6)]
    for key in ids:
        world.campaigns.put(attrs.evolve(make_campaign(), id=key))
    world.campaigns.put(attrs.evolve(world.campaign, state="paused"))
    await world.add_workers(50)
    zero = world.dialler("d0", shard="0", shards=2)
    one = world.dialler("d1", shard="1", shards=2)

    report0 = await zero.tick(world.clock.now())
    report1 = await one.tick(world.clock.now())

    assert report0.leader
    assert report1.leader
    assert set(report0.planned) == {k for k in ids if shard_of(k, 2) == 0}
    assert set(report1.planned) == {k for k in ids if shard_of(k, 2) == 1}
    assert set(report0.planned)
    assert set(report1.planned)


class ClockWaits:
    """Stands in for `asyncio.sleep` in the trunk guard: the manual clock moves on by each
    wait, as it would while the dial task sleeps."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)
        self.world.advance(seconds)


async def test_the_wait_for_a_trunk_token_is_not_ring_time(world: World) -> None:
    contacts = world.add_contacts(2)
    await world.add_workers(2)
    waits = ClockWaits(world)
    started = world.clock.now()
    dialler = world.dialler("d1", trunks=TrunkTable(trunk(cps=2.0)), trunk_sleep=waits)

    assert await run_tick(dialler, world) == {"c1": 2}

    # The second dial waited half a second for its token; the callee (answering at once)
    # did not ring meanwhile: the attempt is counted, and the ring clock starts, after it.
    assert waits.seconds == [0.5]
    attempts = [a for c in contacts for a in world.call_log.for_contact(c.id)]
    assert sorted(a.dialed_at - started for a in attempts) == [
        timedelta(0),
        timedelta(seconds=0.5),
    ]
    assert all(a.answered_at == a.dialed_at for a in attempts)
    delay = dialler.stats(world.campaign).answer_delay
    assert delay.count() == 2


class RedisGone(Exception):
    """Stands for a Redis connection error."""


class UnreachableLimiter:
    """The shared `RateLimiter` with Redis down."""

    async def take(self, key: str, bucket: TokenBucket, cost: int = 1) -> Admission:
        raise RedisGone("connection refused")


async def test_a_dial_whose_trunk_token_cannot_be_had_gives_its_contact_back(
    world: World,
) -> None:
    contacts = world.add_contacts(1)
    await world.add_workers(1)
    dialler = world.dialler(
        "d1",
        trunks=TrunkTable(trunk()),
        trunk_limiter=UnreachableLimiter(),
        unavailable=(RedisGone,),
    )

    assert await run_tick(dialler, world) == {"c1": 1}

    assert world.telephony.placed == []
    assert world.call_log.for_contact(contacts[0].id) == []
    contact = world.leases.get(contacts[0].id)
    assert contact is not None
    assert contact.state is ContactState.READY
    assert contact.attempts == 0


class HeldLimiter:
    """The shared `RateLimiter`, holding every dial until `go` is set."""

    def __init__(self, world: World) -> None:
        self.at = world.clock.now()
        self.go = asyncio.Event()
        self.waiting = 0

    async def take(self, key: str, bucket: TokenBucket, cost: int = 1) -> Admission:
        self.waiting += 1
        await self.go.wait()
        return Admission(allowed=True, remaining=0.0, retry_after=timedelta(0), at=self.at)


async def test_a_dial_waiting_for_its_trunk_token_counts_as_ringing(world: World) -> None:
    world.add_contacts(5)
    await world.add_workers(1)
    limiter = HeldLimiter(world)
    dialler = world.dialler("d1", trunks=TrunkTable(trunk()), trunk_limiter=limiter)

    first = await dialler.tick(world.clock.now())
    await asyncio.sleep(0)
    assert first.leased == {"c1": 1}
    assert limiter.waiting == 1
    # The next tick sees the one slot taken by the dial still waiting to go out.
    world.advance(2)
    await world.beat_all()
    second = await dialler.tick(world.clock.now())
    assert second.planned == {"c1": 0}

    limiter.go.set()
    await dialler.wait_idle()
    assert dialler.failures == []
    assert len(world.telephony.placed) == 1


async def test_a_dial_given_back_for_want_of_a_trunk_token_stops_counting_as_ringing(
    world: World,
) -> None:
    world.add_contacts(3)
    await world.add_workers(1)
    dialler = world.dialler(
        "d1",
        trunks=TrunkTable(trunk()),
        trunk_limiter=UnreachableLimiter(),
        unavailable=(RedisGone,),
    )
    assert await run_tick(dialler, world) == {"c1": 1}
    world.advance(2)
    await world.beat_all()
    # Nothing is left ringing from the dial that never went out: the slot is planned again.
    report = await dialler.tick(world.clock.now())
    await dialler.wait_idle()
    assert report.planned == {"c1": 1}
