"""Leasing rules and the in-memory reference `ContactLeases`: fenced, exclusive, never losing a
contact."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from voxcore_domain.errors import InvalidTransition, StaleLease, ValidationError
from voxcore_domain.lease import (
    IneligibleReason,
    InMemoryContactLeases,
    check_fence,
    ineligibility,
    is_live,
    new_lease,
)
from voxcore_domain.model import (
    CallingWindow,
    Campaign,
    CampaignState,
    Contact,
    ContactState,
    Disposition,
    Lease,
    RetryPolicy,
    utc,
)

NOW = utc(2024, 6, 5, 12)  # a Wednesday
TTL = timedelta(seconds=30)
ALL_DAY = CallingWindow(time(0), time.max)
CAMPAIGN = Campaign(
    "c1", "t1", "Reminders", "a1", "trunk", "+14155550100", ALL_DAY, state=CampaignState.RUNNING
)


def contact(number: int, **changes: Any) -> Contact:
    base = Contact(f"k{number}", "c1", "t1", f"+1415555{number:04d}", NOW - timedelta(hours=1))
    return attrs.evolve(base, **changes)


def get(leases: InMemoryContactLeases, contact_id: str) -> Contact:
    found = leases.get(contact_id)
    assert found is not None
    return found


# -- eligibility ---------------------------------------------------------------------------------


def test_a_ready_due_contact_inside_its_window_is_eligible() -> None:
    assert ineligibility(contact(1), CAMPAIGN, NOW, on_dnc=False) is None


@pytest.mark.parametrize(
    ("reason", "campaign_changes", "contact_changes", "on_dnc"),
    [
        (IneligibleReason.CAMPAIGN_NOT_RUNNING, {"state": CampaignState.PAUSED}, {}, False),
        (IneligibleReason.NOT_READY, {}, {"state": ContactState.DONE}, False),
        (IneligibleReason.NOT_READY, {}, {"state": ContactState.DNC}, False),
        (IneligibleReason.MAX_ATTEMPTS, {}, {"attempts": 3}, False),
        (IneligibleReason.NOT_DUE, {}, {"next_attempt_at": NOW + timedelta(seconds=1)}, False),
        (IneligibleReason.DNC, {}, {}, True),
        # 12:00Z is 17:30 in Kolkata, after a window that closes at 17:00 there.
        (
            IneligibleReason.OUTSIDE_WINDOW,
            {"window": CallingWindow(time(8), time(17))},
            {"timezone": "Asia/Kolkata"},
            False,
        ),
        (
            IneligibleReason.OUTSIDE_WINDOW,
            {"window": CallingWindow(time(0), time.max, {1, 2, 4, 5, 6, 7})},
            {},
            False,
        ),
    ],
)
def test_each_reason_a_contact_is_not_eligible(
    reason: IneligibleReason,
    campaign_changes: dict[str, Any],
    contact_changes: dict[str, Any],
    on_dnc: bool,
) -> None:
    campaign = attrs.evolve(CAMPAIGN, **campaign_changes)
    assert ineligibility(contact(1, **contact_changes), campaign, NOW, on_dnc) is reason


@pytest.mark.parametrize(
    "state", [ContactState.DIALING, ContactState.ANSWERED, ContactState.ATTACHED]
)
def test_a_contact_in_a_call_is_not_eligible_even_once_its_lease_expired(
    state: ContactState,
) -> None:
    expired = Lease("k1", "a", "0" * 32, NOW - timedelta(seconds=1))
    held = contact(1, state=state, lease=expired)
    assert ineligibility(held, CAMPAIGN, NOW, on_dnc=False) is IneligibleReason.NOT_READY


def test_a_live_lease_holds_the_contact_and_an_expired_one_does_not() -> None:
    lease = Lease("k1", "a", "0" * 32, NOW + timedelta(seconds=1))
    held = contact(1, state=ContactState.LEASED, lease=lease)
    assert ineligibility(held, CAMPAIGN, NOW, on_dnc=False) is IneligibleReason.LEASED
    later = NOW + timedelta(seconds=1)
    assert ineligibility(held, CAMPAIGN, later, on_dnc=False) is None


def test_the_local_window_is_the_contacts_own() -> None:
    business_hours = attrs.evolve(CAMPAIGN, window=CallingWindow(time(8), time(21)))
    in_kolkata = contact(1, timezone="Asia/Kolkata", next_attempt_at=utc(2024, 6, 4))
    early = utc(2024, 6, 5, 2)  # 07:30 in Kolkata
    assert ineligibility(in_kolkata, business_hours, early, on_dnc=False) is (
        IneligibleReason.OUTSIDE_WINDOW
    )
    assert ineligibility(in_kolkata, business_hours, utc(2024, 6, 5, 3), on_dnc=False) is None


def test_a_contact_of_another_campaign_is_refused() -> None:
    with pytest.raises(ValidationError) as raised:
        ineligibility(contact(1, campaign_id="c2"), CAMPAIGN, NOW, on_dnc=False)
    assert raised.value.field == "campaign"


# -- leases and fences ---------------------------------------------------------------------------


def test_a_new_lease_has_a_random_128_bit_token_and_expires_after_its_ttl() -> None:
    lease = new_lease("k1", "a", NOW, TTL, random.Random(1))
    assert lease == new_lease("k1", "a", NOW, TTL, random.Random(1))
    assert len(lease.token) == 32
    assert int(lease.token, 16) == random.Random(1).getrandbits(128)
    assert lease.expires_at == NOW + TTL
    assert lease.owner == "a"


@pytest.mark.parametrize("ttl", [timedelta(0), timedelta(seconds=-1)])
def test_a_lease_lasts_some_time(ttl: timedelta) -> None:
    with pytest.raises(ValidationError) as raised:
        new_lease("k1", "a", NOW, ttl, random.Random(1))
    assert raised.value.field == "ttl"


def test_the_fence_passes_only_the_live_lease_on_the_contact() -> None:
    lease = new_lease("k1", "a", NOW, TTL, random.Random(1))
    held = contact(1, state=ContactState.LEASED, lease=lease)
    check_fence(held, lease, NOW)
    with pytest.raises(StaleLease, match="not leased"):
        check_fence(contact(1), lease, NOW)
    with pytest.raises(StaleLease, match="another lease"):
        check_fence(held, attrs.evolve(lease, token="f" * 32), NOW)
    with pytest.raises(StaleLease, match="another lease"):
        check_fence(contact(2, lease=lease), lease, NOW)
    with pytest.raises(StaleLease, match="expired"):
        check_fence(held, lease, NOW + TTL)


def test_is_live() -> None:
    lease = new_lease("k1", "a", NOW, TTL, random.Random(1))
    assert is_live(lease, NOW + TTL - timedelta(microseconds=1))
    assert not is_live(lease, NOW + TTL)
    assert not is_live(None, NOW)


# The store's behaviour (lease, renew, advance, complete, release, recover) is specified once, in
# the contract suite tests/integration/mongo/test_mongo_leases_contract.py, which runs it on this
# reference and on the MongoDB adapter alike.


# -- the reference under random use --------------------------------------------------------------

OWNERS = ("dialler-a", "dialler-b", "dialler-c")
ZONES = (None, "America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe")
MACHINE_START = utc(2024, 3, 8, 12)  # two days before New York springs forward
POLICY = RetryPolicy(
    max_attempts=3,
    no_answer_after=timedelta(minutes=30),
    busy_after=timedelta(minutes=5),
    failed_after=timedelta(minutes=2),
    declined_after=timedelta(hours=1),
    voicemail_after=timedelta(hours=1),
)
MACHINE_CAMPAIGN = attrs.evolve(
    CAMPAIGN,
    window=CallingWindow(time(8), time(21), frozenset(range(1, 7))),
    retry=POLICY,
)
NEXT_IN_CALL = {
    ContactState.LEASED: ContactState.DIALING,
    ContactState.DIALING: ContactState.ANSWERED,
    ContactState.ANSWERED: ContactState.ATTACHED,
}
# Every write a lease holder can make, with arguments that would be valid for a live lease.
WRITES: dict[str, Callable[[InMemoryContactLeases, Lease, datetime], object]] = {
    "renew": lambda leases, lease, now: leases.renew(lease, now, TTL),
    "advance": lambda leases, lease, now: leases.advance(lease, ContactState.DIALING, now),
    "complete": lambda leases, lease, now: leases.complete(
        lease, CAMPAIGN, Disposition.COMPLETED, now
    ),
    "release": lambda leases, lease, now: leases.release(lease, now),
}
ttls = st.timedeltas(timedelta(seconds=5), timedelta(minutes=5))


class LeasingMachine(RuleBasedStateMachine):
    """Several diallers lease, dial, finish, give back and die while the clock moves.

    `held` is what the diallers believe they hold (each token's latest renewal). A lease is stale
    once its holder is done with it or its expiry passed, which is the only way another dialler
    can get the contact; the model predicts every refusal from that alone.
    """

    def __init__(self) -> None:
        super().__init__()
        self.clock = MACHINE_START
        self.campaign = MACHINE_CAMPAIGN
        self.held: dict[str, Lease] = {}
        self.done_with: list[Lease] = []
        self.attempts: dict[str, int] = {}

    @initialize(
        zones=st.lists(st.sampled_from(ZONES), min_size=1, max_size=8),
        blocked=st.sets(st.integers(0, 7), max_size=2),
        seed=st.integers(0, 2**32),
    )
    def create(self, zones: list[str | None], blocked: set[int], seed: int) -> None:
        contacts = [
            Contact(f"k{i}", "c1", "t1", f"+1415555{i:04d}", MACHINE_START, timezone)
            for i, timezone in enumerate(zones)
        ]
        dnc = {"t1": {f"+1415555{i:04d}" for i in blocked}}
        self.leases = InMemoryContactLeases(contacts, dnc, rng=random.Random(seed))
        self.attempts = {contact.id: 0 for contact in contacts}

    # -- the model -------------------------------------------------------------------------------

    def live(self) -> list[Lease]:
        return [lease for lease in self.held.values() if is_live(lease, self.clock)]

    def stale(self) -> list[Lease]:
        expired = [lease for lease in self.held.values() if not is_live(lease, self.clock)]
        return self.done_with + expired

    def state_of(self, lease: Lease) -> ContactState:
        return get(self.leases, lease.contact_id).state

    def pick_held(self, data: st.DataObject) -> Lease:
        return data.draw(st.sampled_from(sorted(self.held.values(), key=lambda x: x.token)))

    def let_go(self, lease: Lease) -> None:
        self.done_with.append(self.held.pop(lease.token))

    def refused_if_expired(self, lease: Lease, write: Callable[[], object]) -> bool:
        if is_live(lease, self.clock):
            return False
        with pytest.raises(StaleLease):
            write()
        self.let_go(lease)
        return True

    def try_advance(self, lease: Lease, wanted: ContactState) -> None:
        def write() -> None:
            self.leases.advance(lease, wanted, self.clock)

        if self.refused_if_expired(lease, write):
            return
        if NEXT_IN_CALL.get(self.state_of(lease)) is not wanted:
            with pytest.raises(InvalidTransition):
                write()
            return
        write()
        assert self.state_of(lease) is wanted

    # -- rules -----------------------------------------------------------------------------------

    # Mostly seconds to minutes, so leases expire mid-call; now and then hours, to cross retry
    # delays, the calling window's edges and New York's spring-forward.
    @rule(seconds=st.one_of(st.integers(1, 60), st.integers(1, 600), st.integers(1, 4 * 3600)))
    def advance_clock(self, seconds: int) -> None:
        self.clock += timedelta(seconds=seconds)

    @rule()
    def pause_or_resume(self) -> None:
        running = self.campaign.state is CampaignState.RUNNING
        wanted = CampaignState.PAUSED if running else CampaignState.RUNNING
        self.campaign = self.campaign.transition(wanted)

    @rule(owner=st.sampled_from(OWNERS), n=st.integers(0, 4), ttl=ttls)
    def lease(self, owner: str, n: int, ttl: timedelta) -> None:
        taken = self.leases.lease(self.campaign, n, owner, self.clock, ttl)
        assert len(taken) <= n
        for lease in taken:
            assert lease.token not in self.held
            assert self.state_of(lease) is ContactState.LEASED
            self.held[lease.token] = lease

    @precondition(lambda self: self.held)
    @rule(data=st.data(), ttl=ttls)
    def renew(self, data: st.DataObject, ttl: timedelta) -> None:
        lease = self.pick_held(data)
        if not self.refused_if_expired(lease, lambda: self.leases.renew(lease, self.clock, ttl)):
            self.held[lease.token] = self.leases.renew(lease, self.clock, ttl)

    @precondition(lambda self: self.held)
    @rule(data=st.data(), wanted=st.sampled_from(sorted(NEXT_IN_CALL.values())))
    def advance(self, data: st.DataObject, wanted: ContactState) -> None:
        self.try_advance(self.pick_held(data), wanted)

    @precondition(lambda self: self.held)
    @rule(data=st.data())
    def call_goes_on(self, data: st.DataObject) -> None:
        """The usual next step of a call, which random steps seldom pick."""
        lease = self.pick_held(data)
        wanted = NEXT_IN_CALL.get(self.state_of(lease))
        if wanted is not None:
            self.try_advance(lease, wanted)

    @precondition(lambda self: self.held)
    @rule(data=st.data(), disposition=st.sampled_from(Disposition))
    def complete(self, data: st.DataObject, disposition: Disposition) -> None:
        lease = self.pick_held(data)

        def write() -> Contact:
            return self.leases.complete(lease, self.campaign, disposition, self.clock)

        if self.refused_if_expired(lease, write):
            return
        if not self.state_of(lease).in_call:
            with pytest.raises(InvalidTransition):
                write()
            return
        done = write()
        assert done.lease is None
        assert done.last_disposition is disposition
        assert done.state.terminal or done.state is ContactState.READY
        self.let_go(lease)

    @precondition(lambda self: self.held)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        lease = self.pick_held(data)

        def write() -> None:
            self.leases.release(lease, self.clock)

        if self.refused_if_expired(lease, write):
            return
        if self.state_of(lease) is not ContactState.LEASED:
            with pytest.raises(InvalidTransition):
                write()
            return
        write()
        assert self.state_of(lease) is ContactState.READY
        self.let_go(lease)

    @rule()
    def recover_expired(self) -> None:
        stale_tokens = {lease.token for lease in self.stale()}
        expected = {
            contact.id
            for contact in self.leases.contacts()
            if contact.state.in_call and contact.lease and contact.lease.token in stale_tokens
        }
        recovered = self.leases.recover_expired(self.campaign, self.clock)
        assert {contact.id for contact in recovered} == expected
        for contact in recovered:
            assert contact.last_disposition is Disposition.FAILED
            assert contact.state in (ContactState.READY, ContactState.EXHAUSTED)
            assert contact.lease is None

    @precondition(lambda self: self.stale())
    @rule(data=st.data(), write=st.sampled_from(sorted(WRITES)))
    def stale_write_is_refused(self, data: st.DataObject, write: str) -> None:
        lease = data.draw(st.sampled_from(self.stale()))
        before = self.leases.contacts()
        with pytest.raises(StaleLease):
            WRITES[write](self.leases, lease, self.clock)
        assert self.leases.contacts() == before

    # -- invariants ------------------------------------------------------------------------------

    @invariant()
    def no_contact_is_held_by_two_live_leases(self) -> None:
        live = self.live()
        held_twice = [
            key for key, count in Counter(x.contact_id for x in live).items() if count > 1
        ]
        assert held_twice == []
        for lease in live:
            assert get(self.leases, lease.contact_id).lease == lease

    @invariant()
    def every_contact_is_terminal_schedulable_or_held(self) -> None:
        contacts = self.leases.contacts()
        assert {contact.id for contact in contacts} == set(self.attempts)
        for contact in contacts:
            if contact.state.terminal or contact.state is ContactState.READY:
                assert contact.lease is None
            else:
                assert contact.lease is not None
                assert contact.lease.contact_id == contact.id

    @invariant()
    def attempts_only_grow_up_to_the_maximum(self) -> None:
        for contact in self.leases.contacts():
            assert self.attempts[contact.id] <= contact.attempts <= POLICY.max_attempts
            self.attempts[contact.id] = contact.attempts


TestLeasing = LeasingMachine.TestCase
TestLeasing.settings = settings(max_examples=100, stateful_step_count=30, deadline=None)
