"""What only the MongoDB adapter of `ContactLeases` has to show: round trips per batch, index use,
millisecond instants, contention between leasers, and documents it cannot read."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

import attrs
import pymongo
import pytest
from pymongo import monitoring
from pymongo.database import Database

from voxcore_adapters.mongo import MongoContactImport, MongoContactLeases, MongoDncList
from voxcore_adapters.mongo.documents import Document
from voxcore_adapters.mongo.schema import CONTACTS
from voxcore_domain.errors import StaleLease, ValidationError
from voxcore_domain.leadership import Fence
from voxcore_domain.model import (
    CallingWindow,
    Campaign,
    CampaignState,
    Contact,
    ContactState,
    Disposition,
    Lease,
    utc,
)

pytestmark = pytest.mark.integration

NOW = utc(2024, 6, 5, 12)
TTL = timedelta(seconds=30)
CAMPAIGN = Campaign(
    "c1",
    "t1",
    "Reminders",
    "a1",
    "trunk",
    "+14155550100",
    CallingWindow(time(8), time(21)),
    state=CampaignState.RUNNING,
)


def contacts(count: int, first: int = 0, **fields: Any) -> list[Contact]:
    return [
        attrs.evolve(
            Contact(f"k{i:04d}", "c1", "t1", f"+1415555{i:04d}", NOW - timedelta(hours=1)),
            **fields,
        )
        for i in range(first, first + count)
    ]


class Commands(monitoring.CommandListener):
    """The commands a client sends: one per round trip."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def during(self, action: object) -> list[str]:
        self.names.clear()
        return self.names


@pytest.fixture
def commands() -> Commands:
    return Commands()


@pytest.fixture
def counted_db(
    mongo_url: str, mongo_db: Database[Document], commands: Commands
) -> Iterator[Database[Document]]:
    """`mongo_db` through a client that reports every command it sends."""
    client: pymongo.MongoClient[Document] = pymongo.MongoClient(
        mongo_url, tz_aware=True, tzinfo=UTC, event_listeners=[commands]
    )
    yield client.get_database(mongo_db.name)
    client.close()


def seeded(db: Database[Document], rows: list[Contact]) -> MongoContactLeases:
    assert MongoContactImport(db).import_contacts(rows).duplicates == ()
    return MongoContactLeases(db, rng=random.Random(3))


# -- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 10, 60])
def test_a_batch_costs_three_round_trips_whatever_its_size(
    counted_db: Database[Document], commands: Commands, n: int
) -> None:
    leases = seeded(counted_db, contacts(80))
    commands.names.clear()
    assert len(leases.lease(CAMPAIGN, n, "a", NOW, TTL)) == n
    # Candidates, the DNC check, the guarded update.
    assert commands.names == ["find", "find", "update"]


def test_dnc_contacts_cost_nothing_more(counted_db: Database[Document], commands: Commands) -> None:
    rows = contacts(20)
    leases = seeded(counted_db, rows)
    MongoDncList(counted_db).add("t1", [rows[0].phone, rows[5].phone])
    commands.names.clear()
    assert len(leases.lease(CAMPAIGN, 10, "a", NOW, TTL)) == 10
    # Marking them DNC goes in the same bulk write as the leases.
    assert commands.names == ["find", "find", "update"]
    states = {c.id: c.state for c in leases.contacts()}
    assert (states[rows[0].id], states[rows[5].id]) == (ContactState.DNC, ContactState.DNC)


def test_a_sweep_of_many_campaigns_costs_one_round_trip_or_three(
    counted_db: Database[Document], commands: Commands
) -> None:
    campaigns = [attrs.evolve(CAMPAIGN, id=f"c{i}") for i in range(20)]
    rows = [
        Contact(f"k{i}", c.id, "t1", f"+1415555{i:04d}", NOW - timedelta(hours=1))
        for i, c in enumerate(campaigns)
    ]
    leases = seeded(counted_db, rows)
    commands.names.clear()
    assert leases.recover_expired_many(campaigns, NOW) == {c.id: [] for c in campaigns}
    assert commands.names == ["update"]

    (lease,) = leases.lease(campaigns[3], 1, "a", NOW, TTL)
    leases.advance(lease, ContactState.DIALING, NOW)
    (other,) = leases.lease(campaigns[7], 1, "a", NOW, TTL)
    leases.advance(other, ContactState.DIALING, NOW)
    commands.names.clear()
    swept = leases.recover_expired_many(campaigns, NOW + TTL)
    assert commands.names == ["update", "find", "update"]
    assert {key: [c.id for c in got] for key, got in swept.items() if got} == {
        "c3": ["k3"],
        "c7": ["k7"],
    }


def test_a_ticks_batch_costs_a_read_per_campaign_and_three_more(
    counted_db: Database[Document], commands: Commands
) -> None:
    """Ten campaigns of two tenants, some numbers on each tenant's DNC list, fenced: a
    candidate read per campaign, then one DNC read, one bulk write and one fence read."""
    campaigns = [attrs.evolve(CAMPAIGN, id=f"c{i}", tenant_id=f"t{i % 2}") for i in range(10)]
    rows = [
        Contact(f"k{i}-{j}", c.id, c.tenant_id, f"+1415{i:03d}{j:04d}", NOW - timedelta(hours=1))
        for i, c in enumerate(campaigns)
        for j in range(5)
    ]
    leases = seeded(counted_db, rows)
    MongoDncList(counted_db).add("t0", ["+14150000000", "+14150010000"])  # c0's k0-0, c1's k1-0
    MongoDncList(counted_db).add("t1", ["+14150010001"])  # c1's k1-1
    fence = Fence("0", 1)
    leases.take_over(fence, NOW)
    commands.names.clear()

    leased = leases.lease_many([(c, 2) for c in campaigns], "a", NOW, TTL, fence)

    assert commands.names == ["find"] * 10 + ["find", "update", "find"]
    assert {key: len(got) for key, got in leased.items()} == {c.id: 2 for c in campaigns}
    assert [lease.contact_id for lease in leased["c0"]] == ["k0-1", "k0-2"]
    assert [lease.contact_id for lease in leased["c1"]] == ["k1-0", "k1-2"]
    states = {c.id: c.state for c in leases.contacts()}
    assert (states["k0-0"], states["k1-1"]) == (ContactState.DNC, ContactState.DNC)
    # t0 lists c1's k1-0 number too, but c1 belongs to t1: leased.
    assert states["k1-0"] is ContactState.LEASED


def test_each_fenced_write_costs_one_round_trip_and_complete_two(
    counted_db: Database[Document], commands: Commands
) -> None:
    leases = seeded(counted_db, contacts(3))
    first, second, third = leases.lease(CAMPAIGN, 3, "a", NOW, TTL)
    for write in (
        lambda: leases.renew(first, NOW, TTL),
        lambda: leases.advance(first, ContactState.DIALING, NOW),
        lambda: leases.release(second, NOW),
    ):
        commands.names.clear()
        write()
        assert commands.names == ["update"]
    commands.names.clear()
    leases.complete(first, CAMPAIGN, Disposition.BUSY, NOW)
    assert commands.names == ["find", "update"]
    leases.advance(third, ContactState.DIALING, NOW)
    commands.names.clear()
    assert leases.recover_expired(CAMPAIGN, NOW) == []
    assert commands.names == ["update"]
    commands.names.clear()
    assert len(leases.recover_expired(CAMPAIGN, NOW + TTL)) == 1
    assert commands.names == ["update", "find", "update"]


def test_contacts_outside_their_window_cost_pages_not_round_trips_each(
    counted_db: Database[Document], commands: Commands
) -> None:
    # Sixty contacts asleep in Kolkata (17:30 there, after the window) wait longer than the
    # three awake ones, so they come first in lease order.
    asleep = contacts(60, timezone="Asia/Kolkata", next_attempt_at=NOW - timedelta(days=1))
    short_window = attrs.evolve(CAMPAIGN, window=CallingWindow(time(8), time(17)))
    leases = seeded(counted_db, asleep + contacts(3, first=100))
    commands.names.clear()
    taken = leases.lease(short_window, 2, "a", NOW, TTL)
    assert [lease.contact_id for lease in taken] == ["k0100", "k0101"]
    # Pages of 12, 24 and 48 candidates; only the last has any awake, to check against the DNC
    # list; then the update.
    assert commands.names == ["find", "find", "find", "find", "update"]


# -- instants ------------------------------------------------------------------------------------


def test_expiries_are_kept_to_the_millisecond_never_rounded_up(
    mongo_db: Database[Document],
) -> None:
    leases = seeded(mongo_db, contacts(1))
    now = datetime(2024, 6, 5, 12, 0, 0, 123_999, tzinfo=UTC)
    [lease] = leases.lease(CAMPAIGN, 1, "a", now, TTL)
    assert lease.expires_at == datetime(2024, 6, 5, 12, 0, 30, 123_000, tzinfo=UTC)
    stored = leases.get(lease.contact_id)
    assert stored is not None
    assert stored.lease == lease
    # Live until its expiry, to the microsecond, and not after: as the reference judges it.
    leases.renew(lease, lease.expires_at - timedelta(microseconds=1), timedelta(microseconds=1))
    with pytest.raises(StaleLease, match="expired"):
        leases.advance(lease, ContactState.DIALING, lease.expires_at)


@pytest.mark.parametrize(
    "now", [datetime(2024, 6, 5, 12), "2024-06-05T12:00:00Z"], ids=["naive", "text"]
)
def test_now_must_be_an_aware_instant(mongo_db: Database[Document], now: object) -> None:
    leases = seeded(mongo_db, contacts(1))
    with pytest.raises(ValidationError) as raised:
        leases.lease(CAMPAIGN, 1, "a", now, TTL)  # type: ignore[arg-type]
    assert raised.value.field == "now"


def test_contention_rounds_must_be_positive(mongo_db: Database[Document]) -> None:
    with pytest.raises(ValidationError) as raised:
        MongoContactLeases(mongo_db, contention_rounds=0)
    assert raised.value.field == "contention_rounds"


# -- contention ----------------------------------------------------------------------------------


class Raced(MongoContactLeases):
    """Leases after a rival took `steal` contacts between its first reading of candidates and
    its update of them."""

    def __init__(self, db: Database[Document], rival: MongoContactLeases, steal: int, **kw: int):
        super().__init__(db, rng=random.Random(5), **kw)
        self.rival = rival
        self.steal = steal
        self.rounds = 0
        self.stolen: list[Lease] = []

    def _candidates(
        self, campaign: Campaign, now: datetime, after: tuple[datetime, str] | None, size: int
    ) -> list[Contact]:
        page = super()._candidates(campaign, now, after, size)
        self.rounds += 1
        if self.rounds == 1:
            self.stolen += self.rival.lease(campaign, self.steal, "rival", now, TTL)
        return page


def test_a_batch_that_lost_a_race_is_topped_up_from_fresh_candidates(
    mongo_db: Database[Document],
) -> None:
    rival = seeded(mongo_db, contacts(10))
    raced = Raced(mongo_db, rival, steal=2)
    taken = raced.lease(CAMPAIGN, 5, "a", NOW, TTL)
    assert len(taken) == 5
    assert raced.rounds == 2
    ours = {lease.contact_id for lease in taken}
    theirs = {lease.contact_id for lease in raced.stolen}
    assert theirs == {"k0000", "k0001"}
    # The three it still could get from the first round, then two of the five left, picked at
    # random so that the losers of a race do not collide again.
    first_round = {"k0002", "k0003", "k0004"}
    assert first_round < ours
    assert ours - first_round < {"k0005", "k0006", "k0007", "k0008", "k0009"}
    for lease in taken + raced.stolen:
        stored = rival.get(lease.contact_id)
        assert stored is not None
        assert stored.lease == lease


def test_a_batch_comes_back_short_when_the_rounds_run_out(mongo_db: Database[Document]) -> None:
    rival = seeded(mongo_db, contacts(10))
    raced = Raced(mongo_db, rival, steal=2, contention_rounds=1)
    taken = raced.lease(CAMPAIGN, 5, "a", NOW, TTL)
    assert [lease.contact_id for lease in taken] == ["k0002", "k0003", "k0004"]
    assert raced.rounds == 1


def test_a_batch_comes_back_short_when_the_candidates_run_out(
    mongo_db: Database[Document],
) -> None:
    rival = seeded(mongo_db, contacts(6))
    raced = Raced(mongo_db, rival, steal=3)
    taken = raced.lease(CAMPAIGN, 5, "a", NOW, TTL)
    assert [lease.contact_id for lease in taken] == ["k0003", "k0004", "k0005"]
    assert raced.rounds == 2  # the second round found only one candidate left, and got it


def test_concurrent_recoveries_close_each_call_once(mongo_db: Database[Document]) -> None:
    leases = seeded(mongo_db, contacts(12))
    for lease in leases.lease(CAMPAIGN, 12, "a", NOW, TTL):
        leases.advance(lease, ContactState.DIALING, NOW)
    recovered: list[list[Contact]] = []
    barrier = threading.Barrier(4)

    def recover() -> None:
        store = MongoContactLeases(mongo_db)
        barrier.wait()
        recovered.append(store.recover_expired(CAMPAIGN, NOW + TTL))

    threads = [threading.Thread(target=recover) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [contact.id for batch in recovered for contact in batch]
    assert sorted(ids) == [c.id for c in contacts(12)]
    for contact in leases.contacts():
        assert contact.state is ContactState.READY
        assert contact.last_disposition is Disposition.FAILED
        assert contact.attempts == 1


# -- documents it cannot read --------------------------------------------------------------------


def test_a_document_breaking_the_domains_rules_is_a_validation_error(
    mongo_db: Database[Document],
) -> None:
    leases = seeded(mongo_db, contacts(1))
    mongo_db.get_collection(CONTACTS).update_one({"_id": "k0000"}, {"$set": {"phone": "555"}})
    with pytest.raises(ValidationError) as bad_phone:
        leases.get("k0000")
    assert bad_phone.value.field == "phone"
    mongo_db.get_collection(CONTACTS).update_one({"_id": "k0000"}, {"$unset": {"tenant_id": 1}})
    with pytest.raises(ValidationError) as missing:
        leases.get("k0000")
    assert missing.value.field == "contact"
