"""The dialler on the fakes when things go wrong: long calls, refused dials, abandons with a
message, a dead leader's calls, stores that block or go away."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest

from apps.dialler.loop import Dialler, room_of
from apps.dialler.stores import StoreCalls
from tests.dialler.conftest import World, make_campaign
from voxcore_adapters.fakes import (
    Callee,
    FakeAbandonMessages,
    FakeTelephony,
    InMemoryTenants,
    InMemoryTrunkChannels,
)
from voxcore_adapters.fakes.trunks import InMemoryTrunks
from voxcore_domain.leadership import Fence
from voxcore_domain.lease import is_live
from voxcore_domain.model import (
    CallAttempt,
    ContactState,
    Disposition,
    Lease,
    SlotState,
    Tenant,
)
from voxcore_domain.ports import DialRequest, TelephonyError
from voxcore_domain.shards import shard_of
from voxcore_domain.trunks import Trunk


async def tick(dialler: Dialler, world: World) -> None:
    await dialler.tick(world.clock.now())
    await dialler.wait_idle()
    assert dialler.failures == []


def counted(dialler: Dialler, name: str, **labels: str) -> float:
    value = dialler.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


# -- lease renewal -------------------------------------------------------------------------------


async def test_a_half_hour_call_keeps_its_lease_and_a_dead_dialler_lets_go(world: World) -> None:
    (contact,) = world.add_contacts(1)
    await world.add_workers(1)
    ttl = timedelta(minutes=2)
    dialler = world.dialler("d1", lease_ttl=ttl)
    await tick(dialler, world)
    assert dialler.in_flight == 1

    for _ in range(30):  # a tick a minute for half an hour: the worker still holds the call
        world.advance(60)
        await world.beat_all()
        await tick(dialler, world)
        stored = world.leases.get(contact.id)
        assert stored is not None
        assert stored.state is ContactState.ATTACHED
        assert stored.lease is not None
        assert stored.lease.expires_at == world.clock.now() + ttl
    assert dialler.in_flight == 1

    # The dialler dies: nothing renews the lease, which runs out within its TTL.
    world.advance(ttl.total_seconds())
    stored = world.leases.get(contact.id)
    assert stored is not None
    assert not is_live(stored.lease, world.clock.now())


# -- refused dials -------------------------------------------------------------------------------


async def test_a_refused_dial_is_recorded_as_not_placed_and_counts_as_no_attempt(
    world: World,
) -> None:
    (contact,) = world.add_contacts(1)
    await world.add_workers(1)
    world.telephony = FakeTelephony(trunks={"another-trunk"}, clock=world.clock)
    dialler = world.dialler("d1")

    await tick(dialler, world)

    stored = world.leases.get(contact.id)
    assert stored is not None
    assert (stored.state, stored.attempts, stored.last_disposition) == (
        ContactState.READY,
        0,
        None,
    )
    (attempt,) = world.call_log.for_contact(contact.id)
    assert attempt.not_placed == "refused"
    assert attempt.disposition is None
    assert attempt.ended_at is not None
    stats = dialler.stats(world.campaign)
    assert stats.answer_delay.count() == 0
    assert stats.abandon.rates(world.clock.now().timestamp()).today_answers == 0
    assert counted(dialler, "vox_dialler_not_placed_total", reason="refused") == 1
    assert counted(dialler, "vox_dialler_dials_total", outcome="failed") == 0


# -- the abandon path ----------------------------------------------------------------------------


async def test_the_abandon_path_says_the_campaigns_message_then_hangs_up(world: World) -> None:
    world.campaigns.put(attrs.evolve(world.campaign, abandon_message="This was Acme; call 0800."))
    (contact,) = world.add_contacts(1)
    await world.add_workers(1)
    world.fleet.refuse = True
    messages = FakeAbandonMessages()
    dialler = world.dialler("d1", abandon_messages=messages)

    await tick(dialler, world)

    (placed,) = world.telephony.placed
    call_id = placed.request.call_id
    assert messages.said == [(call_id, room_of(call_id), "This was Acme; call 0800.")]
    assert world.telephony.hung_up == [call_id]
    assert counted(dialler, "vox_dialler_abandon_messages_total", result="played") == 1
    stored = world.leases.get(contact.id)
    assert stored is not None
    assert stored.last_disposition is Disposition.ABANDONED
    assert stored.next_attempt_at >= world.clock.now() + timedelta(hours=72)
    assert dialler.stats(world.campaign).abandon.rates(world.clock.now().timestamp()).today == 1.0


async def test_an_abandon_message_that_cannot_be_played_still_ends_the_call(world: World) -> None:
    world.campaigns.put(attrs.evolve(world.campaign, abandon_message="This was Acme."))
    world.add_contacts(1)
    await world.add_workers(1)
    world.fleet.refuse = True
    messages = FakeAbandonMessages()
    messages.fail = True
    dialler = world.dialler("d1", abandon_messages=messages)

    await tick(dialler, world)

    assert len(world.telephony.hung_up) == 1
    assert counted(dialler, "vox_dialler_abandon_messages_total", result="failed") == 1
    assert counted(dialler, "vox_dialler_dials_total", outcome="abandoned") == 1


async def test_voicemail_outcomes_are_neither_live_answers_nor_abandons(world: World) -> None:
    """The worker detects the machine and follows the agent's policy; the dialler counts the
    outcome it reports the regulators' way."""
    world.add_contacts(1)
    await world.add_workers(1)
    dialler = world.dialler("d1")
    await tick(dialler, world)
    (attempt,) = [a for c in world.leases.contacts() for a in world.call_log.for_contact(c.id)]

    world.advance(20)
    for slot in await world.slots.slots():
        await world.slots.heartbeat(
            attrs.evolve(slot, state=SlotState.IDLE, call_id=None, busy_since=None),
            timedelta(hours=1),
        )
    world.call_log.record(
        attrs.evolve(attempt, ended_at=world.clock.now(), disposition=Disposition.VOICEMAIL)
    )
    await tick(dialler, world)

    rates = dialler.stats(world.campaign).abandon.rates(world.clock.now().timestamp())
    assert rates.today_answers == 0
    assert rates.today == 0.0
    assert dialler.in_flight == 0


# -- taking over from a dead leader --------------------------------------------------------------


async def test_a_new_leader_closes_out_adopts_and_releases_what_the_old_one_left(
    world: World,
) -> None:
    ringing, attached, leased, unrecorded = world.add_contacts(4)
    now = world.clock.now()
    old = Fence("0", 1)
    world.leases.take_over(old, now)
    ttl = timedelta(minutes=2)
    by_id = {
        lease.contact_id: lease
        for lease in world.leases.lease(world.campaign, 4, "dead", now, ttl, old)
    }
    # It died between counting this attempt and recording it.
    world.leases.advance(by_id[unrecorded.id], ContactState.DIALING, now)
    # The dead leader had one call answered and waiting for a worker, one on a worker.
    for contact, state in ((ringing, ContactState.ANSWERED), (attached, ContactState.ATTACHED)):
        lease = by_id[contact.id]
        world.leases.advance(lease, ContactState.DIALING, now)
        world.leases.advance(lease, ContactState.ANSWERED, now)
        if state is ContactState.ATTACHED:
            world.leases.advance(lease, ContactState.ATTACHED, now)
        call_id = f"old-{contact.id}"
        world.call_log.record(
            CallAttempt(
                call_id,
                contact.id,
                world.campaign.id,
                world.campaign.tenant_id,
                1,
                lease.token,
                dialed_at=now,
                answered_at=now,
                attached_at=now if state is ContactState.ATTACHED else None,
                worker="h1" if state is ContactState.ATTACHED else None,
            )
        )
        await world.telephony.place_call(
            DialRequest(call_id, "trunk1", contact.phone, "+442071234567", 25, room_of(call_id))
        )
    await world.telephony.place_call(
        DialRequest("nobodys", "trunk1", "+442079999999", "+442071234567", 25, room_of("nobodys"))
    )
    await world.add_workers(1)
    heir = world.dialler("heir", rooms=world.telephony, lease_ttl=ttl)

    report = await heir.tick(now)
    await heir.wait_idle()

    assert report.leader
    # The in-memory lock started again from token 1, which the store had seen: reissued.
    assert heir.token == 2
    closed = world.leases.get(ringing.id)
    assert closed is not None
    assert (closed.state, closed.last_disposition, closed.lease) == (
        ContactState.READY,
        Disposition.FAILED,
        None,
    )
    assert closed.next_attempt_at == now + world.campaign.retry.failed_after
    ended = world.call_log.get(f"old-{ringing.id}")
    assert ended is not None
    assert ended.disposition is Disposition.FAILED
    assert set(world.telephony.hung_up) >= {f"old-{ringing.id}", "nobodys"}
    assert f"old-{attached.id}" not in world.telephony.hung_up
    kept = world.leases.get(attached.id)
    assert kept is not None
    assert kept.state is ContactState.ATTACHED
    assert kept.lease is not None
    assert kept.lease.leader_token == 2
    assert heir.in_flight >= 1
    released = world.leases.get(leased.id)
    assert released is not None
    assert released.attempts <= 1  # released unattempted, then dialled by the heir at most once
    lost = world.leases.get(unrecorded.id)
    assert lost is not None
    assert (lost.state, lost.last_disposition) == (ContactState.READY, Disposition.FAILED)
    (lost_attempt,) = world.call_log.for_contact(unrecorded.id)[:1]
    assert lost_attempt.id == f"lost-{by_id[unrecorded.id].token}"
    assert lost_attempt.disposition is Disposition.FAILED
    assert counted(heir, "vox_dialler_reconciled_total", action="closed") == 2
    assert counted(heir, "vox_dialler_reconciled_total", action="adopted") == 1
    assert counted(heir, "vox_dialler_reconciled_total", action="released") == 1
    assert counted(heir, "vox_dialler_reconciled_total", action="orphan_room") == 1


class RoomStuck(FakeTelephony):
    """The provider cannot delete one call's room."""

    def __init__(self, stuck: str, **options: Any) -> None:
        super().__init__(**options)
        self.stuck = stuck

    async def hang_up(self, call_id: str, room: str) -> None:
        if call_id == self.stuck:
            raise TelephonyError(f"cannot reach the provider to hang up {call_id}")
        await super().hang_up(call_id, room)


async def test_a_take_over_frees_the_channels_of_the_calls_whose_rooms_it_deleted(
    world: World,
) -> None:
    ended, stuck = world.add_contacts(2)
    now = world.clock.now()
    old = Fence("0", 1)
    world.leases.take_over(old, now)
    ttl = timedelta(minutes=2)
    channels = InMemoryTrunkChannels(world.clock)
    for lease in world.leases.lease(world.campaign, 2, "dead", now, ttl, old):
        world.leases.advance(lease, ContactState.DIALING, now)
        call_id = f"old-{lease.contact_id}"
        world.call_log.record(
            CallAttempt(
                call_id,
                lease.contact_id,
                world.campaign.id,
                world.campaign.tenant_id,
                1,
                lease.token,
                dialed_at=now,
            )
        )
        assert await channels.claim("trunk1", call_id, None, timedelta(seconds=30))
    # Another dialler's call on the same trunk.
    assert await channels.claim("trunk1", "elsewhere", None, timedelta(seconds=30))
    telephony = RoomStuck(f"old-{stuck.id}", clock=world.clock)
    heir = world.dialler("heir", telephony=telephony, channels=channels, lease_ttl=ttl)

    report = await heir.tick(now)
    await heir.wait_idle()

    assert report.leader
    assert heir.failures == []
    assert counted(heir, "vox_dialler_reconciled_total", action="closed") == 2
    # The call whose room is gone is off the trunk: its channel is free, and stays free
    # whatever its old holder renews. The one whose room may still be up keeps its hold
    # (until the channel TTL), and so does the other dialler's call.
    assert await channels.in_use(["trunk1"]) == {"trunk1": 2}
    await channels.hold("trunk1", [f"old-{ended.id}"], timedelta(seconds=30))
    assert await channels.in_use(["trunk1"]) == {"trunk1": 2}
    assert not await channels.claim("trunk1", f"old-{ended.id}", None, timedelta(seconds=30))
    world.advance(31)
    assert await channels.in_use(["trunk1"]) == {"trunk1": 0}


async def test_with_several_shards_a_new_leader_deletes_only_its_own_shards_orphan_rooms(
    world: World,
) -> None:
    ids = [f"camp-{i}" for i in range(20)]
    mine = next(key for key in ids if shard_of(key, 2) == 0)
    theirs = next(key for key in ids if shard_of(key, 2) == 1)
    now = world.clock.now()
    for call_id, campaign_id in (("mine", mine), ("theirs", theirs)):
        world.call_log.record(
            CallAttempt(call_id, f"k-{call_id}", campaign_id, "t1", 1, f"lease-{call_id}", now)
        )
    for call_id in ("mine", "theirs", "unrecorded"):
        await world.telephony.place_call(
            DialRequest(call_id, "trunk1", "+442079999999", "+442071234567", 25, room_of(call_id))
        )
    heir = world.dialler("heir", shard="0", shards=2, rooms=world.telephony)

    assert (await heir.tick(now)).leader
    await heir.wait_idle()

    # Shard 1's live call and a call nobody can place keep their rooms.
    assert world.telephony.hung_up == ["mine"]
    assert set(world.telephony.live_calls) == {"theirs", "unrecorded"}
    assert counted(heir, "vox_dialler_reconciled_total", action="orphan_room") == 1


# -- stores off the loop -------------------------------------------------------------------------


async def test_offloaded_store_calls_leave_the_loop_free() -> None:
    """A store call that waits for the loop to run something else: it can only finish if it is
    not running on the loop itself."""
    entered = threading.Event()
    loop_ran = threading.Event()

    def blocking_store_call() -> str:
        entered.set()
        if not loop_ran.wait(timeout=5):
            raise AssertionError("the event loop was blocked by the store call")
        return "done"

    async def other_task() -> None:
        while not entered.is_set():
            await asyncio.sleep(0.001)
        loop_ran.set()

    stores = StoreCalls(offload=True)
    result, _ = await asyncio.gather(stores.run(blocking_store_call), other_task())
    assert result == "done"


async def test_the_fakes_are_called_inline_on_the_loops_thread(world: World) -> None:
    seen: set[int] = set()
    leases = world.leases

    class Watching:
        def __getattr__(self, name: str) -> Any:
            method = getattr(leases, name)

            def call(*args: Any, **kwargs: Any) -> Any:
                seen.add(threading.get_ident())
                return method(*args, **kwargs)

            return call

    world.add_contacts(2)
    await world.add_workers(2)
    dialler = world.dialler("d1", leases=Watching())
    await tick(dialler, world)
    assert seen == {threading.get_ident()}
    assert len(world.telephony.placed) == 2


# -- stores that go away -------------------------------------------------------------------------


class StoreDown(Exception):
    pass


class Flaky:
    """Any store, unreachable while `down` is set (every call raises `StoreDown`)."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.down = False

    def __getattr__(self, name: str) -> Any:
        method: Callable[..., Any] = getattr(self.inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.down:
                raise StoreDown(name)
            return method(*args, **kwargs)

        async def acall(*args: Any, **kwargs: Any) -> Any:
            if self.down:
                raise StoreDown(name)
            return await method(*args, **kwargs)

        return acall if asyncio.iscoroutinefunction(method) else call


async def test_while_the_store_is_down_nothing_is_leased_and_outcomes_wait_for_it(
    world: World,
) -> None:
    busy, other = world.add_contacts(2)
    world.telephony = FakeTelephony(clock=world.clock, time_scale=1.0)
    world.telephony.script(busy.phone, Callee.busy(after_s=0.2))
    world.telephony.script(other.phone, Callee.busy(after_s=0.2))
    world.campaigns.put(make_campaign(mode="progressive"))
    await world.add_workers(1)
    leases, call_log, campaigns = Flaky(world.leases), Flaky(world.call_log), Flaky(world.campaigns)
    dialler = world.dialler(
        "d1",
        leases=leases,
        call_log=call_log,
        campaigns=campaigns,
        stores=StoreCalls(unavailable=(StoreDown,)),
    )
    report = await dialler.tick(world.clock.now())
    assert report.leased == {"c1": 1}
    await asyncio.sleep(0.05)  # the dial is ringing
    for store in (leases, call_log, campaigns):
        store.down = True
    await dialler.wait_idle()
    assert dialler.failures == []

    world.advance(2)
    await world.beat_all()
    report = await dialler.tick(world.clock.now())
    assert report.leased == {}
    assert dialler.metrics.buffered._value.get() == 2  # the outcome and its call-log record
    (dialled,) = [c for c in world.leases.contacts() if c.state is ContactState.DIALING]

    for store in (leases, call_log, campaigns):
        store.down = False
    world.advance(2)
    await world.beat_all()
    await dialler.tick(world.clock.now())
    await dialler.wait_idle()
    stored = world.leases.get(dialled.id)
    assert stored is not None
    assert stored.last_disposition is Disposition.BUSY
    assert stored.lease is None
    (attempt, *_) = world.call_log.for_contact(dialled.id)
    assert attempt.disposition is Disposition.BUSY


async def test_writes_kept_through_an_outage_stop_at_the_first_one_a_new_leader_refused(
    world: World,
) -> None:
    """The old leader's answer, its record, the abandon and its record are kept while its
    MongoDB is unreachable; meanwhile a standby takes the shard over and closes the call out.
    Back, the old leader's answer is refused, and nothing after it is written: the call's
    record stays the new leader's."""
    (contact,) = world.add_contacts(1)
    world.telephony = FakeTelephony(clock=world.clock, time_scale=1.0)
    world.telephony.script(contact.phone, Callee.answering(after_s=0.2))
    world.fleet.refuse = True  # nobody takes the call: the abandon path
    await world.add_workers(1)
    leases, call_log = Flaky(world.leases), Flaky(world.call_log)
    old = world.dialler(
        "old", leases=leases, call_log=call_log, stores=StoreCalls(unavailable=(StoreDown,))
    )
    report = await old.tick(world.clock.now())
    assert report.leased == {"c1": 1}
    await asyncio.sleep(0.05)  # dialled and recorded, ringing
    (first,) = world.call_log.for_contact(contact.id)
    leases.down = call_log.down = True
    await old.wait_idle()
    assert old.failures == []
    assert old.buffered_writes == 4  # answer, its record, the abandon, its record

    world.advance(7)  # past the old leader's lock
    heir = world.dialler("heir")
    await tick(heir, world)
    assert heir.token == 2
    closed = world.call_log.get(first.id)
    assert closed is not None
    assert (closed.disposition, closed.answered_at) == (Disposition.FAILED, None)

    leases.down = call_log.down = False
    await tick(old, world)

    assert old.buffered_writes == 0
    assert not old.leader
    assert world.call_log.get(first.id) == closed
    stored = world.leases.get(contact.id)
    assert stored is not None
    assert stored.last_disposition is Disposition.FAILED


class TakenOverAfterDialing:
    """The contact store, with a newer leader taking the shard over right after the `dialing`
    write: the old leader paused between that write and the call's first record."""

    def __init__(self, world: World) -> None:
        self.world = world

    def __getattr__(self, name: str) -> Any:
        return getattr(self.world.leases, name)

    def advance(self, lease: Lease, state: ContactState, now: datetime) -> None:
        self.world.leases.advance(lease, state, now)
        if state is ContactState.DIALING:
            self.world.leases.take_over(Fence("0", 2), now)


async def test_a_leader_replaced_after_its_dialing_write_records_and_dials_nothing(
    world: World,
) -> None:
    (contact,) = world.add_contacts(1)
    await world.add_workers(1)
    old = world.dialler("old", leases=TakenOverAfterDialing(world))

    report = await old.tick(world.clock.now())
    await old.wait_idle()

    assert report.leased == {"c1": 1}
    assert old.failures == []
    assert world.call_log.for_contact(contact.id) == []
    assert world.telephony.placed == []
    assert old.in_flight == 0


async def test_without_redis_nothing_is_dialled_and_dialling_resumes_by_itself(
    world: World,
) -> None:
    world.add_contacts(5)
    await world.add_workers(1)
    slots, lock = Flaky(world.slots), Flaky(world.lock)
    dialler = world.dialler("d1", slots=slots, lock=lock, unavailable=(StoreDown,))
    await tick(dialler, world)
    assert len(world.telephony.placed) == 1
    (first,) = world.telephony.placed

    # Redis goes away: the call in progress is still followed and leased, nothing new is dialled.
    slots.down = lock.down = True
    for _ in range(3):
        world.advance(2)
        await tick(dialler, world)
    assert world.telephony.placed == [first]
    assert dialler.in_flight == 1
    assert counted(dialler, "vox_dialler_store_unavailable_total", step="leader_lock") == 3

    # Back: the worker reports the call over, and the next dial goes out with no one's help.
    slots.down = lock.down = False
    for slot in await world.slots.slots():
        await world.slots.heartbeat(
            attrs.evolve(slot, state=SlotState.IDLE, call_id=None, heartbeat_at=world.clock.now()),
            timedelta(hours=1),
        )
    attempt = world.call_log.get(first.request.call_id)
    assert attempt is not None
    world.call_log.record(
        attrs.evolve(attempt, ended_at=world.clock.now(), disposition=Disposition.COMPLETED)
    )
    # (never seen busy, the call counts as starting until the slot staleness limit has passed)
    for _ in range(4):
        world.advance(2)
        await world.beat_all()
        await tick(dialler, world)
    assert dialler.in_flight == 1
    assert len(world.telephony.placed) == 2


@pytest.mark.parametrize("mode", ["progressive"])
async def test_nobody_is_dialled_twice_when_leaders_alternate(world: World, mode: str) -> None:
    world.campaigns.put(make_campaign(mode=mode, max_attempts=1))
    world.add_contacts(30)
    await world.add_workers(2)
    world.fleet.refuse = True
    a, b = world.dialler("a"), world.dialler("b")
    for round_ in range(10):
        leader = a if round_ % 4 < 2 else b
        await tick(leader, world)
        world.advance(7)  # past the lock TTL every round: the lead may change each time
        await world.beat_all()
    numbers = [placed.request.to for placed in world.telephony.placed]
    assert len(numbers) == len(set(numbers))
    assert all(c.attempts <= 1 for c in world.leases.contacts())


async def test_a_leader_sweeps_calls_whose_lease_ran_out_every_few_ticks(world: World) -> None:
    (contact,) = world.add_contacts(1)
    dialler = world.dialler("d1", recover_every=3)
    await tick(dialler, world)  # takes the shard over: nothing to reconcile, no slots to dial
    # A call whose lease ran out without anyone closing it (its renewals were lost).
    (lease,) = world.leases.lease(
        world.campaign, 1, "gone", world.clock.now(), timedelta(seconds=4)
    )
    world.leases.advance(lease, ContactState.DIALING, world.clock.now())
    world.advance(5)  # within the leader lock's TTL: a new take-over would sweep at once

    # The take-over tick was the first of three; the second leaves the call alone.
    await tick(dialler, world)
    stored = world.leases.get(contact.id)
    assert stored is not None
    assert stored.state is ContactState.DIALING
    await tick(dialler, world)

    stored = world.leases.get(contact.id)
    assert stored is not None
    assert (stored.state, stored.last_disposition) == (ContactState.READY, Disposition.FAILED)


class AnswersOnceTheLoopRan:
    """A store whose `all` answers only once the event loop has run something else meanwhile:
    it can only answer if it is not called on the loop's thread."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.entered = threading.Event()
        self.loop_ran = threading.Event()

    def all(self) -> Any:
        self.entered.set()
        if not self.loop_ran.wait(timeout=5):
            raise AssertionError("the event loop was blocked by the store call")
        return self.inner.all()

    async def unblock_once_entered(self) -> None:
        while not self.entered.is_set():
            await asyncio.sleep(0.001)
        self.loop_ran.set()


@pytest.mark.parametrize("slow", ["tenants", "trunks"])
async def test_slow_tenant_and_trunk_stores_do_not_block_the_tick(world: World, slow: str) -> None:
    world.add_contacts(1)
    await world.add_workers(1)
    tenants = InMemoryTenants()
    tenants.put(Tenant("t1", "Acme"))
    trunks = InMemoryTrunks()
    trunks.put(Trunk("trunk1", "t1", "trunk1", "ST_trunk1", cps=10.0))
    stores: dict[str, Any] = {"tenants": tenants, "trunks": trunks}
    blocking = stores[slow] = AnswersOnceTheLoopRan(stores[slow])
    dialler = world.dialler("d1", stores=StoreCalls(offload=True), **stores)

    report, _ = await asyncio.gather(
        dialler.tick(world.clock.now()), blocking.unblock_once_entered()
    )
    await dialler.wait_idle()

    assert report.leased == {"c1": 1}
    assert dialler.failures == []


async def test_while_tenants_or_trunks_are_unreadable_nothing_is_dialled(world: World) -> None:
    world.add_contacts(2)
    await world.add_workers(2)
    tenants = Flaky(InMemoryTenants())
    dialler = world.dialler("d1", tenants=tenants, stores=StoreCalls(unavailable=(StoreDown,)))
    tenants.down = True
    report = await dialler.tick(world.clock.now())
    assert report.leader
    assert report.planned == {}
    assert world.telephony.placed == []
    assert counted(dialler, "vox_dialler_store_unavailable_total", step="limits") == 1

    tenants.down = False
    await tick(dialler, world)
    assert len(world.telephony.placed) == 2
