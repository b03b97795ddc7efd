"""Leader fencing at the contact store (`FencedContactLeases`), on the reference and on MongoDB:
once a newer leader of a shard has taken over, nothing stamped with an older token is written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import attrs
import pytest

from tests.integration.mongo.support import MakeLeases
from voxcore_domain.errors import FencedOut, StaleLease, ValidationError
from voxcore_domain.leadership import Fence
from voxcore_domain.model import (
    Campaign,
    CampaignState,
    Contact,
    ContactState,
    Disposition,
    utc,
)

pytestmark = pytest.mark.integration

NOW = utc(2024, 6, 5, 12)
TTL = timedelta(minutes=2)
CAMPAIGN = Campaign(
    id="c1",
    tenant_id="t1",
    name="Renewals",
    agent_id="a1",
    trunk_id="trunk1",
    caller_id="+442071234567",
    state=CampaignState.RUNNING,
)
OLD = Fence("0", 1)
NEW = Fence("0", 2)


def contacts(n: int) -> list[Contact]:
    return [
        Contact(
            id=f"k{i}",
            campaign_id="c1",
            tenant_id="t1",
            phone=f"+4420790{i:05d}",
            next_attempt_at=NOW - timedelta(hours=1),
        )
        for i in range(n)
    ]


def test_leases_carry_the_leaders_fence(make_leases: MakeLeases) -> None:
    store = make_leases(*contacts(2))
    store.take_over(OLD, NOW)
    leases = store.lease(CAMPAIGN, 2, "d1", NOW, TTL, OLD)
    assert [(lease.shard, lease.leader_token) for lease in leases] == [("0", 1), ("0", 1)]
    stored = store.get(leases[0].contact_id)
    assert stored is not None
    assert stored.lease == leases[0]


def test_after_a_takeover_the_old_leader_writes_nothing(make_leases: MakeLeases) -> None:
    store = make_leases(*contacts(4))
    store.take_over(OLD, NOW)
    leased, dialing, answered, attached = store.lease(CAMPAIGN, 4, "old", NOW, TTL, OLD)
    for lease in (dialing, answered, attached):
        store.advance(lease, ContactState.DIALING, NOW)
    for lease in (answered, attached):
        store.advance(lease, ContactState.ANSWERED, NOW)
    store.advance(attached, ContactState.ATTACHED, NOW)
    before = store.contacts()

    taken = store.take_over(NEW, NOW)

    assert [c.id for c in taken] == ["k0", "k1", "k2", "k3"]
    assert all(c.lease is not None and c.lease.leader_token == 2 for c in taken)
    later = NOW + timedelta(seconds=1)
    old_writes: list[Callable[[], object]] = [
        lambda: store.renew(attached, later, TTL),
        lambda: store.release(leased, later),
        lambda: store.advance(dialing, ContactState.ANSWERED, later),
        lambda: store.undial(dialing, later),
        lambda: store.advance(answered, ContactState.ATTACHED, later),
        lambda: store.complete(attached, CAMPAIGN, Disposition.COMPLETED, later),
    ]
    for write in old_writes:
        with pytest.raises(StaleLease, match="newer leader"):
            write()
    # Nothing changed but the stamp.
    assert [attrs.evolve(c, lease=None) for c in store.contacts()] == [
        attrs.evolve(c, lease=None) for c in before
    ]
    # The new leader writes with the stamped leases.
    by_id = {c.id: c.lease for c in taken}
    new_attached = by_id["k3"]
    assert new_attached is not None
    renewed = store.renew(new_attached, later, TTL)
    assert renewed.token == attached.token
    store.complete(renewed, CAMPAIGN, Disposition.COMPLETED, later)
    done = store.get("k3")
    assert done is not None
    assert done.state is ContactState.DONE


def test_an_unstamped_lease_is_fenced_by_its_token_alone(make_leases: MakeLeases) -> None:
    """The API closes a call with the lease token the fleet reported, knowing no leader."""
    store = make_leases(*contacts(1))
    store.take_over(OLD, NOW)
    (lease,) = store.lease(CAMPAIGN, 1, "old", NOW, TTL, OLD)
    store.advance(lease, ContactState.DIALING, NOW)
    store.take_over(NEW, NOW)
    by_token = attrs.evolve(lease, shard=None, leader_token=None)
    store.complete(by_token, CAMPAIGN, Disposition.BUSY, NOW)
    stored = store.get("k0")
    assert stored is not None
    assert stored.last_disposition is Disposition.BUSY


def test_an_old_leader_cannot_lease_after_a_takeover(make_leases: MakeLeases) -> None:
    store = make_leases(*contacts(3))
    store.take_over(OLD, NOW)
    store.take_over(NEW, NOW)

    with pytest.raises(FencedOut) as raised:
        store.lease(CAMPAIGN, 3, "old", NOW, TTL, OLD)

    assert (raised.value.token, raised.value.newest) == (1, 2)
    assert {c.state for c in store.contacts()} == {ContactState.READY}
    assert all(c.lease is None for c in store.contacts())
    assert len(store.lease(CAMPAIGN, 3, "new", NOW, TTL, NEW)) == 3


def test_a_takeover_needs_a_newer_token(make_leases: MakeLeases) -> None:
    store = make_leases(*contacts(1))
    store.take_over(NEW, NOW)
    for stale in (OLD, NEW):
        with pytest.raises(FencedOut) as raised:
            store.take_over(stale, NOW)
        assert raised.value.newest == 2
    assert store.take_over(Fence("0", 3), NOW) == []


def test_a_takeover_stamps_only_its_own_shard(make_leases: MakeLeases) -> None:
    store = make_leases(*contacts(3))
    other = Fence("1", 5)
    store.take_over(other, NOW)
    store.lease(CAMPAIGN, 1, "d-other", NOW, TTL, other)
    store.lease(CAMPAIGN, 1, "d-unfenced", NOW, TTL)
    store.take_over(OLD, NOW)
    (mine,) = store.lease(CAMPAIGN, 1, "d-mine", NOW, TTL, OLD)

    taken = store.take_over(NEW, NOW)

    assert [c.id for c in taken] == [mine.contact_id]
    leases = {c.id: c.lease for c in store.contacts()}
    assert leases["k0"] is not None
    assert leases["k0"].leader_token == 5
    assert leases["k1"] is not None
    assert leases["k1"].leader_token is None


def test_check_leader_refuses_only_a_replaced_leader(make_leases: MakeLeases) -> None:
    """What the dialler asks before each call-log record of a call stamped with a fence."""
    store = make_leases(*contacts(1))
    store.check_leader(OLD)  # a shard nobody has taken over yet
    store.take_over(OLD, NOW)
    store.check_leader(OLD)
    store.take_over(NEW, NOW)

    with pytest.raises(FencedOut) as raised:
        store.check_leader(OLD)

    assert (raised.value.shard, raised.value.token, raised.value.newest) == ("0", 1, 2)
    store.check_leader(NEW)
    store.check_leader(Fence("0", 3))  # newer than the store has seen: not fenced out
    store.check_leader(Fence("1", 1))  # another shard's fence is its own


def test_an_old_leaders_batch_keeps_nothing_after_a_takeover(make_leases: MakeLeases) -> None:
    other = attrs.evolve(CAMPAIGN, id="c2")
    rows = contacts(4) + [attrs.evolve(c, id=f"m{c.id}", campaign_id="c2") for c in contacts(2)]
    store = make_leases(*rows)
    store.take_over(OLD, NOW)
    store.take_over(NEW, NOW)

    with pytest.raises(FencedOut) as raised:
        store.lease_many([(CAMPAIGN, 2), (other, 2)], "old", NOW, TTL, OLD)

    assert (raised.value.token, raised.value.newest) == (1, 2)
    assert {c.state for c in store.contacts()} == {ContactState.READY}
    assert all(c.lease is None for c in store.contacts())
    leased = store.lease_many([(CAMPAIGN, 3), (other, 1)], "new", NOW, TTL, NEW)
    assert {key: len(leases) for key, leases in leased.items()} == {"c1": 3, "c2": 1}
    assert {lease.leader_token for leases in leased.values() for lease in leases} == {2}


def test_a_batch_names_each_campaign_once(make_leases: MakeLeases) -> None:
    store = make_leases(*contacts(2))
    with pytest.raises(ValidationError, match="twice"):
        store.lease_many([(CAMPAIGN, 1), (CAMPAIGN, 1)], "d1", NOW, TTL)
    with pytest.raises(ValidationError, match="0 or more"):
        store.lease_many([(CAMPAIGN, -1)], "d1", NOW, TTL)
    with pytest.raises(ValidationError, match="twice"):
        store.recover_expired_many([CAMPAIGN, CAMPAIGN], NOW)
    assert all(c.lease is None for c in store.contacts())
