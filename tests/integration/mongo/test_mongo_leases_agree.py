"""The MongoDB adapter and the reference `InMemoryContactLeases`, driven side by side through the
same random steps by several diallers, must agree on every answer and every contact; and the
leasing invariants must hold.

Both stores draw tokens from a generator seeded alike, in the same order, so they hand out equal
leases and the comparison includes the tokens. Times are whole seconds (MongoDB keeps
milliseconds). The run is sized for CI on SecantusDB; it runs longer against a real mongod
(`VOX_TEST_MONGO_URL`).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime, time, timedelta
from functools import partial

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from pymongo.database import Database

from tests.integration.mongo.support import LeaseStore, seed_mongo
from voxcore_adapters.fakes import InMemoryContactLeases
from voxcore_adapters.mongo import MongoContactLeases
from voxcore_adapters.mongo.documents import Document
from voxcore_adapters.mongo.schema import CONTACTS, DNC
from voxcore_adapters.testing.mongo_server import configured_url
from voxcore_domain.errors import DomainError, StaleLease
from voxcore_domain.lease import is_live
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

pytestmark = pytest.mark.integration

OWNERS = ("dialler-a", "dialler-b", "dialler-c")
ZONES = (None, "America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe")
START = utc(2024, 3, 8, 12)  # two days before New York springs forward
POLICY = RetryPolicy(
    max_attempts=3,
    no_answer_after=timedelta(minutes=30),
    busy_after=timedelta(minutes=5),
    failed_after=timedelta(minutes=2),
    declined_after=timedelta(hours=1),
    voicemail_after=timedelta(hours=1),
)
CAMPAIGN = Campaign(
    "c1",
    "t1",
    "Reminders",
    "a1",
    "trunk",
    "+14155550100",
    CallingWindow(time(8), time(21), frozenset(range(1, 7))),
    retry=POLICY,
    state=CampaignState.RUNNING,
)
OTHER = attrs.evolve(CAMPAIGN, id="c2", tenant_id="t2", name="Renewals")
"""A second tenant's campaign, leased beside the first by `lease_many`."""
NEXT_IN_CALL = {
    ContactState.LEASED: ContactState.DIALING,
    ContactState.DIALING: ContactState.ANSWERED,
    ContactState.ANSWERED: ContactState.ATTACHED,
}
MAX_TTL = timedelta(minutes=5)
ttls = st.integers(5, int(MAX_TTL.total_seconds())).map(lambda s: timedelta(seconds=s))

# Every write a lease holder can make, with arguments that would be valid for a live lease.
WRITES: dict[str, Callable[[LeaseStore, Lease, Campaign, datetime], object]] = {
    "renew": lambda store, lease, _, now: store.renew(lease, now, MAX_TTL),
    "advance": lambda store, lease, _, now: store.advance(lease, ContactState.DIALING, now),
    "complete": lambda store, lease, campaign, now: store.complete(
        lease, campaign, Disposition.COMPLETED, now
    ),
    "release": lambda store, lease, _, now: store.release(lease, now),
}

Outcome = tuple[str, object]


def recover_expired(store: LeaseStore, campaign: Campaign, now: datetime) -> list[Contact]:
    return store.recover_expired(campaign, now)


class LeasingAgrees(RuleBasedStateMachine):
    """`held` is what the diallers believe they hold (each token's latest renewal); a lease is
    stale once its holder let it go or its expiry passed."""

    def __init__(self, db: Database[Document]) -> None:
        super().__init__()
        self.db = db
        self.clock = START
        self.campaigns = {CAMPAIGN.id: CAMPAIGN, OTHER.id: OTHER}
        self.held: dict[str, Lease] = {}
        self.done_with: list[Lease] = []
        self.attempts: dict[str, int] = {}

    @initialize(
        zones=st.lists(st.sampled_from(ZONES), min_size=1, max_size=8),
        blocked=st.sets(st.integers(0, 7), max_size=2),
        late=st.sets(st.integers(0, 7), max_size=3),
        seed=st.integers(0, 2**32),
        others=st.lists(st.sampled_from(ZONES), max_size=4),
        others_blocked=st.sets(st.integers(0, 3), max_size=1),
    )
    def create(
        self,
        zones: list[str | None],
        blocked: set[int],
        late: set[int],
        seed: int,
        others: list[str | None],
        others_blocked: set[int],
    ) -> None:
        contacts = [
            Contact(
                f"k{i}",
                "c1",
                "t1",
                f"+1415555{i:04d}",
                # Some wait longer than others, so the lease order is not just the ids'.
                START - timedelta(minutes=10 if i in late else 0),
                timezone,
            )
            for i, timezone in enumerate(zones)
        ] + [
            Contact(f"m{i}", OTHER.id, OTHER.tenant_id, f"+1415666{i:04d}", START, timezone)
            for i, timezone in enumerate(others)
        ]
        dnc = {
            "t1": {f"+1415555{i:04d}" for i in blocked},
            # The first tenant's numbers too: each tenant's list is its own.
            "t2": {f"+1415666{i:04d}" for i in others_blocked}
            | {f"+1415555{i:04d}" for i in range(2)},
        }
        for name in (CONTACTS, DNC):
            self.db.get_collection(name).delete_many({})
        seed_mongo(self.db, contacts, dnc)
        self.fake = InMemoryContactLeases(contacts, dnc, rng=random.Random(seed))
        self.real = MongoContactLeases(self.db, rng=random.Random(seed))
        self.attempts = {contact.id: 0 for contact in contacts}

    # -- both at once ----------------------------------------------------------------------------

    def both(self, call: Callable[[LeaseStore], object]) -> Outcome:
        """Run `call` on both stores; they must return equal values or raise the same error."""
        outcomes: list[Outcome] = []
        for store in (self.fake, self.real):
            try:
                outcomes.append(("ok", call(store)))
            except DomainError as error:
                outcomes.append((type(error).__name__, str(error)))
        assert outcomes[0] == outcomes[1]
        return outcomes[0]

    def pick_held(self, data: st.DataObject) -> Lease:
        return data.draw(st.sampled_from(sorted(self.held.values(), key=lambda x: x.token)))

    def let_go(self, lease: Lease) -> None:
        self.done_with.append(self.held.pop(lease.token))

    def stale(self) -> list[Lease]:
        expired = [lease for lease in self.held.values() if not is_live(lease, self.clock)]
        return self.done_with + expired

    def in_call(self) -> list[Lease]:
        held = sorted(self.held.values(), key=lambda x: x.token)
        return [lease for lease in held if self.state_of(lease).in_call]

    def campaign_of(self, lease: Lease) -> Campaign:
        contact = self.fake.get(lease.contact_id)
        assert contact is not None
        return self.campaigns[contact.campaign_id]

    def state_of(self, lease: Lease) -> ContactState:
        contact = self.fake.get(lease.contact_id)
        assert contact is not None
        return contact.state

    # -- rules -----------------------------------------------------------------------------------

    # Mostly seconds, so calls get dialled and finished under live leases; sometimes minutes, so
    # leases expire mid-call; now and then hours, to cross retry delays, the windows' edges and
    # New York's spring-forward.
    @rule(
        seconds=st.one_of(*[st.integers(1, 20)] * 3, st.integers(1, 600), st.integers(1, 4 * 3600))
    )
    def advance_clock(self, seconds: int) -> None:
        self.clock += timedelta(seconds=seconds)

    @property
    def campaign(self) -> Campaign:
        return self.campaigns[CAMPAIGN.id]

    @rule(campaign_id=st.sampled_from(sorted([CAMPAIGN.id, OTHER.id])))
    def pause_or_resume(self, campaign_id: str) -> None:
        campaign = self.campaigns[campaign_id]
        running = campaign.state is CampaignState.RUNNING
        wanted = CampaignState.PAUSED if running else CampaignState.RUNNING
        self.campaigns[campaign_id] = campaign.transition(wanted)

    @rule(owner=st.sampled_from(OWNERS), n=st.integers(0, 4), ttl=ttls)
    def lease(self, owner: str, n: int, ttl: timedelta) -> None:
        kind, taken = self.both(lambda s: s.lease(self.campaign, n, owner, self.clock, ttl))
        assert kind == "ok"
        assert isinstance(taken, list)
        assert len(taken) <= n
        self.hold(taken)

    @rule(
        owner=st.sampled_from(OWNERS),
        n=st.integers(0, 4),
        m=st.integers(0, 3),
        other_first=st.booleans(),
        ttl=ttls,
    )
    def lease_many(self, owner: str, n: int, m: int, other_first: bool, ttl: timedelta) -> None:
        """A dialler's tick: both campaigns in one batch, in either order."""
        wanted = [(self.campaign, n), (self.campaigns[OTHER.id], m)]
        if other_first:
            wanted.reverse()
        kind, taken = self.both(lambda s: s.lease_many(wanted, owner, self.clock, ttl))
        assert kind == "ok"
        assert isinstance(taken, dict)
        assert list(taken) == [campaign.id for campaign, _ in wanted]
        for campaign, most in wanted:
            leases = taken[campaign.id]
            assert len(leases) <= most
            for lease in leases:
                assert self.campaign_of(lease).id == campaign.id
            self.hold(leases)

    def hold(self, taken: list[Lease]) -> None:
        for lease in taken:
            assert lease.token not in self.held
            self.held[lease.token] = lease

    @precondition(lambda self: self.held)
    @rule(data=st.data(), ttl=ttls)
    def renew(self, data: st.DataObject, ttl: timedelta) -> None:
        lease = self.pick_held(data)
        kind, renewed = self.both(lambda s: s.renew(lease, self.clock, ttl))
        assert (kind == "ok") is is_live(lease, self.clock)
        if kind == "ok":
            assert isinstance(renewed, Lease)
            self.held[lease.token] = renewed
        else:
            self.let_go(lease)

    @precondition(lambda self: self.held)
    @rule(data=st.data(), wanted=st.sampled_from(sorted(NEXT_IN_CALL.values())))
    def advance(self, data: st.DataObject, wanted: ContactState) -> None:
        self.try_advance(self.pick_held(data), wanted)

    @precondition(lambda self: self.held)
    @rule(data=st.data())
    def call_goes_on(self, data: st.DataObject) -> None:
        lease = self.pick_held(data)
        wanted = NEXT_IN_CALL.get(self.state_of(lease))
        if wanted is not None:
            self.try_advance(lease, wanted)

    def try_advance(self, lease: Lease, wanted: ContactState) -> None:
        kind, _ = self.both(lambda s: s.advance(lease, wanted, self.clock))
        if not is_live(lease, self.clock):
            assert kind == StaleLease.__name__
            self.let_go(lease)

    @precondition(lambda self: self.held)
    @rule(data=st.data(), disposition=st.sampled_from(Disposition))
    def complete(self, data: st.DataObject, disposition: Disposition) -> None:
        lease = self.pick_held(data)
        campaign = self.campaign_of(lease)
        kind, done = self.both(lambda s: s.complete(lease, campaign, disposition, self.clock))
        if kind == "ok":
            assert isinstance(done, Contact)
            assert done.state.terminal or done.state is ContactState.READY
            assert done.lease is None
        if kind in ("ok", StaleLease.__name__):
            self.let_go(lease)

    @precondition(lambda self: self.in_call())
    @rule(data=st.data(), disposition=st.sampled_from(Disposition))
    def call_ends(self, data: st.DataObject, disposition: Disposition) -> None:
        """A dialled call ending, which random picks of a lease seldom find."""
        lease = data.draw(st.sampled_from(self.in_call()))
        campaign = self.campaign_of(lease)
        kind, _ = self.both(lambda s: s.complete(lease, campaign, disposition, self.clock))
        assert (kind == "ok") is is_live(lease, self.clock)
        self.let_go(lease)

    @precondition(lambda self: self.held)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        lease = self.pick_held(data)
        kind, _ = self.both(lambda s: s.release(lease, self.clock))
        if kind in ("ok", StaleLease.__name__):
            self.let_go(lease)

    @rule()
    def recover_expired(self) -> None:
        for campaign in self.campaigns.values():
            kind, recovered = self.both(partial(recover_expired, campaign=campaign, now=self.clock))
            assert kind == "ok"
            assert isinstance(recovered, list)
            for contact in recovered:
                assert contact.last_disposition is Disposition.FAILED
                assert contact.state in (ContactState.READY, ContactState.EXHAUSTED)

    @rule(other_first=st.booleans())
    def recover_expired_many(self, other_first: bool) -> None:
        """A dialler's sweep: both campaigns in one batch, in either order."""
        campaigns = list(self.campaigns.values())
        if other_first:
            campaigns.reverse()
        kind, recovered = self.both(lambda s: s.recover_expired_many(campaigns, self.clock))
        assert kind == "ok"
        assert isinstance(recovered, dict)
        assert list(recovered) == [campaign.id for campaign in campaigns]
        for campaign_id, contacts in recovered.items():
            for contact in contacts:
                assert contact.campaign_id == campaign_id
                assert contact.last_disposition is Disposition.FAILED

    @precondition(lambda self: self.stale())
    @rule(data=st.data(), write=st.sampled_from(sorted(WRITES)))
    def stale_write_is_refused(self, data: st.DataObject, write: str) -> None:
        """A dialler whose lease expired or was let go changes nothing, in either store."""
        lease = data.draw(st.sampled_from(self.stale()))
        before = self.real.contacts()
        campaign = self.campaign_of(lease)
        kind, _ = self.both(lambda s: WRITES[write](s, lease, campaign, self.clock))
        assert kind == StaleLease.__name__
        assert self.real.contacts() == before

    # -- invariants ------------------------------------------------------------------------------

    @invariant()
    def the_stores_agree_on_every_contact(self) -> None:
        assert self.real.contacts() == self.fake.contacts()

    @invariant()
    def no_contact_is_held_by_two_live_leases(self) -> None:
        live = [lease for lease in self.held.values() if is_live(lease, self.clock)]
        assert [k for k, count in Counter(x.contact_id for x in live).items() if count > 1] == []
        for lease in live:
            contact = self.real.get(lease.contact_id)
            assert contact is not None
            assert contact.lease == lease

    @invariant()
    def every_contact_is_terminal_schedulable_or_held(self) -> None:
        for contact in self.real.contacts():
            if contact.state.terminal or contact.state is ContactState.READY:
                assert contact.lease is None
            else:
                assert contact.lease is not None
                assert contact.lease.contact_id == contact.id

    @invariant()
    def attempts_only_grow_up_to_the_maximum(self) -> None:
        for contact in self.real.contacts():
            assert self.attempts[contact.id] <= contact.attempts <= POLICY.max_attempts
            self.attempts[contact.id] = contact.attempts

    def teardown(self) -> None:
        """Once every lease has run out and dead calls are recovered, no contact is stuck: each
        is terminal, ready, or leased under an expired lease that the next lease takes over."""
        if not hasattr(self, "real"):
            return
        self.clock += MAX_TTL
        self.recover_expired()
        for contact in self.real.contacts():
            assert (
                contact.state.terminal
                or contact.state is ContactState.READY
                or (contact.state is ContactState.LEASED and not is_live(contact.lease, self.clock))
            )
        assert self.real.contacts() == self.fake.contacts()


ON_REAL_MONGOD = configured_url() is not None


def test_the_mongo_adapter_agrees_with_the_reference(mongo_db: Database[Document]) -> None:
    class OnThisDatabase(LeasingAgrees):
        def __init__(self) -> None:
            super().__init__(mongo_db)

    run_state_machine_as_test(
        OnThisDatabase,
        settings=settings(
            max_examples=300 if ON_REAL_MONGOD else 50,
            stateful_step_count=50 if ON_REAL_MONGOD else 30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


def test_a_changed_contact_would_be_noticed(mongo_db: Database[Document]) -> None:
    """The comparison has teeth: one field changed behind the fake's back is a disagreement."""
    machine = LeasingAgrees(mongo_db)
    machine.create(
        zones=[None, None], blocked=set(), late=set(), seed=1, others=[None], others_blocked=set()
    )
    machine.the_stores_agree_on_every_contact()
    contact = machine.fake.get("k1")
    assert contact is not None
    machine.fake.add(attrs.evolve(contact, attempts=1))
    with pytest.raises(AssertionError):
        machine.the_stores_agree_on_every_contact()
