"""The dialler's tick against the in-memory fakes: leases, dials, attaches, abandons, leadership."""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest

from apps.dialler.loop import Dialler
from apps.dialler.stores import StoreCalls
from tests.dialler.conftest import World, make_campaign
from voxcore_adapters.fakes import Callee, InMemoryContactLeases
from voxcore_domain.model import ContactState, Disposition, Lease, SlotState


async def tick(dialler: Dialler, world: World) -> None:
    await dialler.tick(world.clock.now())
    await dialler.wait_idle()
    assert dialler.failures == []


async def test_a_tick_leases_exactly_the_planned_number(world: World) -> None:
    world.add_contacts(20)
    await world.add_workers(4)
    dialler = world.dialler("d1")

    report = await dialler.tick(world.clock.now())

    assert report.leader
    assert report.pool == 4
    # Progressive: one dial per free slot.
    assert report.planned == {"c1": 4}
    assert report.leased == {"c1": 4}
    leased = [c for c in world.leases.contacts() if c.lease is not None]
    assert len(leased) == 4
    await dialler.wait_idle()
    assert len(world.telephony.placed) == 4


class CountedLeases:
    """The contact store, counting the calls made to each of its methods."""

    def __init__(self, inner: InMemoryContactLeases) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        method: Callable[..., Any] = getattr(self.inner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return method(*args, **kwargs)

        return counted


async def test_a_tick_leases_every_campaign_in_one_batch(world: World) -> None:
    second = attrs.evolve(world.campaign, id="c2", tenant_id="t2")
    world.campaigns.put(second)
    world.add_contacts(6)
    for contact in world.add_contacts(6, start=100):
        world.leases.add(attrs.evolve(contact, campaign_id="c2", tenant_id="t2"))
    await world.add_workers(6)
    leases = CountedLeases(world.leases)
    dialler = world.dialler("d1", leases=leases)

    report = await dialler.tick(world.clock.now())
    await dialler.wait_idle()

    assert sum(report.leased.values()) == 6
    assert set(report.leased) == {"c1", "c2"}
    assert (leases.calls["lease_many"], leases.calls["lease"]) == (1, 0)
    assert len(world.telephony.placed) == 6


async def test_predictive_leases_what_the_planner_asks(world: World) -> None:
    world.campaigns.put(make_campaign(mode="predictive"))
    world.add_contacts(200)
    await world.add_workers(10)
    dialler = world.dialler("d1")

    report = await dialler.tick(world.clock.now())

    assert report.planned["c1"] > 0
    assert report.leased == report.planned
    await dialler.wait_idle()


async def test_answered_calls_are_attached_and_followed_to_their_end(world: World) -> None:
    world.add_contacts(2)
    await world.add_workers(2)
    dialler = world.dialler("d1")

    await tick(dialler, world)

    assert len(world.fleet.requests) == 2
    for request, hosts in world.fleet.requests:
        assert hosts == ("h1",)
        assert request.agent_id == "a1"
        assert request.room == f"call-{request.call_id}"
    contacts = world.leases.contacts()
    assert {c.state for c in contacts} == {ContactState.ATTACHED}
    assert dialler.in_flight == 2
    attempts = world.call_log.for_contact(contacts[0].id)
    assert attempts[0].worker == "h1"
    assert attempts[0].attached_at is not None

    # The slots hold both calls: nothing to dial.
    world.advance(2)
    await world.beat_all()
    report = await dialler.tick(world.clock.now())
    assert report.planned == {"c1": 0}

    # One call ends: its worker frees the slot and the outcome reaches the call log.
    world.advance(60)
    ended = attempts[0]
    for slot in await world.slots.slots():
        if slot.call_id == ended.id:
            await world.slots.heartbeat(
                attrs.evolve(slot, state=SlotState.IDLE, call_id=None, busy_since=None),
                timedelta(hours=1),
            )
    world.call_log.record(
        attrs.evolve(ended, ended_at=world.clock.now(), disposition=Disposition.COMPLETED)
    )
    await world.beat_all()
    await tick(dialler, world)
    assert dialler.in_flight == 1
    stats = dialler.stats(world.campaign)
    assert stats.handle_time.count() == 1
    assert stats.abandon.rates(world.clock.now().timestamp()).today_answers == 1


async def test_no_worker_in_time_abandons_and_never_redials_within_72_hours(
    world: World,
) -> None:
    (contact,) = world.add_contacts(1)
    await world.add_workers(1)
    world.fleet.refuse = True
    dialler = world.dialler("d1")

    await tick(dialler, world)

    stored = world.leases.get(contact.id)
    assert stored is not None
    assert stored.last_disposition is Disposition.ABANDONED
    assert stored.lease is None
    assert stored.next_attempt_at >= world.clock.now() + timedelta(hours=72)
    (placed,) = world.telephony.placed
    assert world.telephony.hung_up == [placed.request.call_id]
    rates = dialler.stats(world.campaign).abandon.rates(world.clock.now().timestamp())
    assert rates.today == 1.0
    (attempt,) = world.call_log.for_contact(contact.id)
    assert attempt.disposition is Disposition.ABANDONED

    # Every tick for the next 71 hours (sampled) leaves the number alone.
    world.fleet.refuse = False
    for _ in range(71):
        world.advance(3600)
        await world.beat_all()
        await tick(dialler, world)
    assert len(world.telephony.placed) == 1


async def test_a_fleet_slower_than_the_budget_abandons(world: World) -> None:
    world.add_contacts(1)
    await world.add_workers(1)
    world.fleet.delay_s = 0.2
    dialler = world.dialler("d1", attach_budget_s=0.05)

    await tick(dialler, world)

    (contact,) = world.leases.contacts()
    assert contact.last_disposition is Disposition.ABANDONED
    assert len(world.telephony.hung_up) == 1


async def test_non_answers_complete_with_their_disposition(world: World) -> None:
    busy, silent = world.add_contacts(2)
    world.telephony.script(busy.phone, Callee.busy())
    world.telephony.script(silent.phone, Callee.no_answer())
    await world.add_workers(2)
    dialler = world.dialler("d1")

    await tick(dialler, world)

    by_id = {c.id: c for c in world.leases.contacts()}
    assert by_id[busy.id].last_disposition is Disposition.BUSY
    assert by_id[silent.id].last_disposition is Disposition.NO_ANSWER
    assert all(c.lease is None and c.attempts == 1 for c in by_id.values())
    assert world.fleet.requests == []
    assert dialler.in_flight == 0


async def test_a_throttled_dial_is_released_without_an_attempt_and_the_trunk_backs_off(
    world: World,
) -> None:
    (first, *_) = world.add_contacts(3)
    world.telephony.script(first.phone, Callee.cps_limit())
    await world.add_workers(1)
    dialler = world.dialler("d1")

    await tick(dialler, world)

    stored = world.leases.get(first.id)
    assert stored is not None
    assert stored.lease is None
    assert stored.state is ContactState.READY
    assert stored.attempts == 0
    assert stored.last_disposition is None
    assert world.fleet.requests == []
    assert dialler.stats(world.campaign).answer_delay.count() == 0
    # Within the carrier's back-off (1 s) the trunk takes no dial.
    report = await dialler.tick(world.clock.now())
    assert report.leased == {}
    assert report.planned == {"c1": 0}
    world.advance(2)
    await world.beat_all()
    report = await dialler.tick(world.clock.now())
    await dialler.wait_idle()
    assert report.leased == {"c1": 1}


async def test_standby_waits_for_the_leader_then_takes_over_after_the_ttl(
    world: World,
) -> None:
    world.add_contacts(30)
    await world.add_workers(1)
    leader = world.dialler("d1")
    standby = world.dialler("d2")

    await tick(leader, world)
    report = await standby.tick(world.clock.now())
    assert leader.leader
    assert not report.leader
    assert not standby.leader
    assert report.leased == {}
    dialled = len(world.telephony.placed)

    # The leader dies (stops ticking); within its TTL the standby still waits.
    world.advance(5)
    await world.beat_all()
    assert not (await standby.tick(world.clock.now())).leader
    assert len(world.telephony.placed) == dialled

    world.advance(2)
    await world.beat_all()
    report = await standby.tick(world.clock.now())
    await standby.wait_idle()
    assert report.leader
    assert standby.token is not None
    assert leader.token is not None
    assert standby.token > leader.token

    # The old leader comes back: its renewal is refused and it stays standby.
    assert not (await leader.tick(world.clock.now())).leader
    assert not leader.leader


async def test_no_contact_is_dialled_twice_across_two_diallers(world: World) -> None:
    world.campaigns.put(make_campaign(max_attempts=1))
    world.add_contacts(60)
    await world.add_workers(3)
    world.fleet.refuse = True  # every answer is abandoned, so slots stay free and dials go on
    a = world.dialler("a")
    b = world.dialler("b")

    leased = {"a": 0, "b": 0}
    for round_ in range(12):
        for dialler in (a, b) if round_ % 2 == 0 else (b, a):
            report = await dialler.tick(world.clock.now())
            await dialler.wait_idle()
            assert dialler.failures == []
            leased[dialler.owner] += sum(report.leased.values())
        if round_ == 4:
            # a freezes past its TTL: b takes over while a still thinks it leads.
            world.advance(7)
        else:
            world.advance(2)
        await world.beat_all()

    numbers = [placed.request.to for placed in world.telephony.placed]
    assert len(numbers) == len(set(numbers))
    assert len(numbers) == leased["a"] + leased["b"]
    # a led first; b took over when a froze, and kept the lead.
    assert leased["a"] > 0
    assert leased["b"] > 0
    assert b.leader
    assert not a.leader


async def test_a_new_leader_closes_out_the_calls_a_dead_leader_left(world: World) -> None:
    world.add_contacts(2)
    await world.add_workers(2)
    dead = world.dialler("dead", lease_ttl=timedelta(seconds=30))
    await tick(dead, world)
    assert {c.state for c in world.leases.contacts()} == {ContactState.ATTACHED}

    # The leader dies with both calls on workers; their leases run out with nobody to report.
    world.advance(31)
    await world.beat_all()
    heir = world.dialler("heir")
    report = await heir.tick(world.clock.now())
    await heir.wait_idle()

    assert report.leader
    closed = [c for c in world.leases.contacts() if c.last_disposition is Disposition.FAILED]
    assert len(closed) == 2
    assert all(c.lease is None for c in closed)


async def test_a_paused_leader_dials_nothing_once_a_standby_took_over(world: World) -> None:
    contacts = world.add_contacts(3)
    await world.add_workers(3)
    paused = world.dialler("paused")
    standby = world.dialler("standby")

    # The leader leases, then stalls before its dial tasks run, past the lock's TTL.
    report = await paused.tick(world.clock.now())
    assert report.leased == {"c1": 3}
    world.advance(7)
    await world.beat_all()
    # The standby takes over: it gives back what the paused leader leased, and dials it itself.
    assert (await standby.tick(world.clock.now())).leader

    await paused.wait_idle()
    await standby.wait_idle()
    assert paused.failures == []
    assert standby.failures == []
    assert not paused.leader
    numbers = [placed.request.to for placed in world.telephony.placed]
    assert sorted(numbers) == sorted(c.phone for c in contacts)
    assert all(c.attempts == 1 for c in world.leases.contacts())
    attempts = [a for c in contacts for a in world.call_log.for_contact(c.id)]
    assert len(attempts) == 3
    # Every call in progress is held under the standby's leader token.
    assert {c.lease.leader_token for c in world.leases.contacts() if c.lease} == {standby.token}
    assert {a.lease_token for a in attempts} == {
        c.lease.token for c in world.leases.contacts() if c.lease
    }


class HeldAnswers(InMemoryContactLeases):
    """A contact store whose writes of an answer hang (off the loop, as a slow Mongo's do)
    until `go` is set."""

    def __init__(self) -> None:
        super().__init__(rng=random.Random(7))
        self.go = threading.Event()

    def advance(self, lease: Lease, state: ContactState, now: datetime) -> None:
        if state is ContactState.ANSWERED and not self.go.wait(timeout=30):
            raise TimeoutError("the test never let the answer's write through")
        super().advance(lease, state, now)


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not condition():
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("refuse", [False, True], ids=["attached", "abandoned"])
async def test_a_slow_store_does_not_hold_the_callee_in_silence(world: World, refuse: bool) -> None:
    """The abandon budget runs from the answer: the worker is sought (or the callee told and
    let go) while the answer is still being written, and the contact's states land in order."""
    world.leases = HeldAnswers()
    world.add_contacts(1)
    await world.add_workers(1)
    world.fleet.refuse = refuse
    dialler = world.dialler("d1", stores=StoreCalls(offload=True))

    await dialler.tick(world.clock.now())
    if refuse:
        await until(lambda: len(world.telephony.hung_up) == 1)
    else:
        await until(lambda: len(world.fleet.requests) == 1)
    (contact,) = world.leases.contacts()
    assert contact.state is ContactState.DIALING

    world.leases.go.set()
    await dialler.wait_idle()
    assert dialler.failures == []
    (contact,) = world.leases.contacts()
    if refuse:
        assert contact.last_disposition is Disposition.ABANDONED
        assert contact.lease is None
    else:
        assert contact.state is ContactState.ATTACHED
    (attempt,) = world.call_log.for_contact(contact.id)
    assert attempt.answered_at is not None
    assert (attempt.disposition is Disposition.ABANDONED) is refuse
    assert (attempt.attached_at is not None) is not refuse
