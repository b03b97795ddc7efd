"""The `ContactLeases` contract, run against the reference fake and the MongoDB adapter alike.

Times are whole seconds: MongoDB keeps milliseconds, and the contract is about behaviour, not
precision (`test_mongo_leases.py` covers the truncation).
"""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import attrs
import pytest

from tests.integration.mongo.support import LeaseStore, MakeLeases
from voxcore_domain.errors import InvalidTransition, StaleLease, ValidationError
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

NOW = utc(2024, 6, 5, 12)  # a Wednesday
TTL = timedelta(seconds=30)
ALL_DAY = CallingWindow(time(0), time.max)
CAMPAIGN = Campaign(
    "c1", "t1", "Reminders", "a1", "trunk", "+14155550100", ALL_DAY, state=CampaignState.RUNNING
)


def contact(number: int, **changes: Any) -> Contact:
    variables = {"name": f"Caller {number}"}
    base = Contact(
        f"k{number}", "c1", "t1", f"+1415555{number:04d}", NOW - timedelta(hours=1), None, variables
    )
    return attrs.evolve(base, **changes)


def get(leases: LeaseStore, contact_id: str) -> Contact:
    found = leases.get(contact_id)
    assert found is not None
    return found


def dialled(leases: LeaseStore, owner: str = "a") -> Lease:
    [lease] = leases.lease(CAMPAIGN, 1, owner, NOW, TTL)
    leases.advance(lease, ContactState.DIALING, NOW)
    return lease


# -- lease ---------------------------------------------------------------------------------------


def test_leases_go_to_the_longest_waiting_contacts_first_then_by_id(
    make_leases: MakeLeases,
) -> None:
    leases = make_leases(
        contact(3, next_attempt_at=NOW - timedelta(hours=2)),
        contact(2),
        contact(1),
        contact(4, next_attempt_at=NOW - timedelta(hours=3)),
    )
    taken = leases.lease(CAMPAIGN, 3, "a", NOW, TTL)
    assert [lease.contact_id for lease in taken] == ["k4", "k3", "k1"]
    assert all(lease.owner == "a" and lease.expires_at == NOW + TTL for lease in taken)
    for lease in taken:
        assert get(leases, lease.contact_id).state is ContactState.LEASED
        assert get(leases, lease.contact_id).lease == lease
    assert get(leases, "k2") == contact(2)


def test_a_contact_is_never_leased_twice(make_leases: MakeLeases) -> None:
    leases = make_leases(*(contact(number) for number in range(1, 6)))
    first = leases.lease(CAMPAIGN, 3, "a", NOW, TTL)
    second = leases.lease(CAMPAIGN, 3, "b", NOW, TTL)
    assert len(first) == 3
    assert len(second) == 2
    assert not {lease.contact_id for lease in first} & {lease.contact_id for lease in second}
    assert leases.lease(CAMPAIGN, 3, "c", NOW, TTL) == []


def test_only_the_campaigns_own_contacts_and_only_when_it_runs(make_leases: MakeLeases) -> None:
    leases = make_leases(contact(1, campaign_id="c2"), contact(2))
    for state in (CampaignState.PAUSED, CampaignState.DRAFT, CampaignState.COMPLETED):
        assert leases.lease(attrs.evolve(CAMPAIGN, state=state), 5, "a", NOW, TTL) == []
    assert [lease.contact_id for lease in leases.lease(CAMPAIGN, 5, "a", NOW, TTL)] == ["k2"]


@pytest.mark.parametrize(
    "changes",
    [
        {"state": ContactState.DONE},
        {"state": ContactState.EXHAUSTED},
        {"state": ContactState.DNC},
        {"attempts": 3},
        {"next_attempt_at": NOW + timedelta(seconds=1)},
        {"timezone": "Asia/Kolkata"},  # 17:30 there, after the window below closes
    ],
)
def test_an_ineligible_contact_is_not_leased(
    make_leases: MakeLeases, changes: dict[str, Any]
) -> None:
    business_hours = attrs.evolve(CAMPAIGN, window=CallingWindow(time(8), time(17)))
    leases = make_leases(contact(1, **changes))
    assert leases.lease(business_hours, 5, "a", NOW, TTL) == []
    assert get(leases, "k1") == contact(1, **changes)


def test_the_window_is_read_in_each_contacts_own_time_zone(make_leases: MakeLeases) -> None:
    business_hours = attrs.evolve(CAMPAIGN, window=CallingWindow(time(8), time(21)))
    zones = {1: "Asia/Kolkata", 2: "America/New_York", 3: "Asia/Tokyo", 4: None}
    leases = make_leases(
        *(
            contact(number, timezone=zone, next_attempt_at=utc(2024, 6, 4))
            for number, zone in zones.items()
        )
    )
    hours = timedelta(hours=2)
    # 02:00Z: 07:30 in Kolkata, 22:00 the day before in New York, 11:00 in Tokyo, 02:00 in UTC.
    early = leases.lease(business_hours, 5, "a", utc(2024, 6, 5, 2), hours)
    assert [lease.contact_id for lease in early] == ["k3"]
    # 03:00Z: 08:30 in Kolkata.
    later = leases.lease(business_hours, 5, "a", utc(2024, 6, 5, 3), hours)
    assert [lease.contact_id for lease in later] == ["k1"]


def test_a_number_on_the_tenants_dnc_list_becomes_dnc_instead_of_being_leased(
    make_leases: MakeLeases,
) -> None:
    leases = make_leases(
        contact(1), contact(2), dnc={"t1": {contact(1).phone}, "t2": {contact(2).phone}}
    )
    taken = leases.lease(CAMPAIGN, 5, "a", NOW, TTL)
    assert [lease.contact_id for lease in taken] == ["k2"]  # another tenant's list is not ours
    assert get(leases, "k1") == contact(1, state=ContactState.DNC)


def test_candidates_are_taken_in_order_until_n_are_leased(make_leases: MakeLeases) -> None:
    blocked = {contact(number).phone for number in (2, 4)}
    leases = make_leases(*(contact(number) for number in range(1, 5)), dnc={"t1": blocked})
    assert [lease.contact_id for lease in leases.lease(CAMPAIGN, 2, "a", NOW, TTL)] == ["k1", "k3"]
    assert get(leases, "k2").state is ContactState.DNC
    # Not reached before the second lease was taken: left for a later lease to find.
    assert get(leases, "k4").state is ContactState.READY


def test_a_dnc_contact_outside_its_window_is_left_alone(make_leases: MakeLeases) -> None:
    business_hours = attrs.evolve(CAMPAIGN, window=CallingWindow(time(8), time(17)))
    asleep = contact(1, timezone="Asia/Kolkata")
    leases = make_leases(asleep, dnc={"t1": {asleep.phone}})
    assert leases.lease(business_hours, 5, "a", NOW, TTL) == []
    assert get(leases, "k1") == asleep


def test_an_expired_lease_of_a_contact_never_dialled_is_taken_over(
    make_leases: MakeLeases,
) -> None:
    leases = make_leases(contact(1))
    [old] = leases.lease(CAMPAIGN, 1, "a", NOW, TTL)
    assert leases.lease(CAMPAIGN, 1, "b", NOW + TTL - timedelta(seconds=1), TTL) == []
    later = NOW + TTL
    [new] = leases.lease(CAMPAIGN, 1, "b", later, TTL)
    assert new.contact_id == old.contact_id
    assert new.token != old.token
    assert new.owner == "b"
    assert get(leases, "k1").lease == new
    assert get(leases, "k1").attempts == 0


def test_a_stale_owner_is_fenced_off_after_a_takeover(make_leases: MakeLeases) -> None:
    leases = make_leases(contact(1))
    [old] = leases.lease(CAMPAIGN, 1, "a", NOW, TTL)
    later = NOW + TTL
    [new] = leases.lease(CAMPAIGN, 1, "b", later, TTL)
    with pytest.raises(StaleLease):
        leases.advance(old, ContactState.DIALING, later)
    with pytest.raises(StaleLease):
        leases.complete(old, CAMPAIGN, Disposition.COMPLETED, later)
    with pytest.raises(StaleLease):
        leases.release(old, later)
    with pytest.raises(StaleLease):
        leases.renew(old, later, TTL)
    assert get(leases, "k1").lease == new
    assert get(leases, "k1").state is ContactState.LEASED


def test_a_lease_on_another_contact_does_not_fence_this_one(make_leases: MakeLeases) -> None:
    leases = make_leases(contact(1), contact(2))
    first, _ = leases.lease(CAMPAIGN, 2, "a", NOW, TTL)
    forged = attrs.evolve(first, contact_id="k2")
    with pytest.raises(StaleLease, match="another lease"):
        leases.advance(forged, ContactState.DIALING, NOW)


@pytest.mark.parametrize(("n", "ttl", "field"), [(-1, TTL, "n"), (1, timedelta(0), "ttl")])
def test_lease_arguments_are_checked(
    make_leases: MakeLeases, n: int, ttl: timedelta, field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        make_leases(contact(1)).lease(CAMPAIGN, n, "a", NOW, ttl)
    assert raised.value.field == field


def test_leasing_none_changes_nothing(make_leases: MakeLeases) -> None:
    leases = make_leases(contact(1), dnc={"t1": {contact(1).phone}})
    assert leases.lease(CAMPAIGN, 0, "a", NOW, TTL) == []
    assert get(leases, "k1") == contact(1)


def test_a_lease_of_an_unknown_contact_is_stale(make_leases: MakeLeases) -> None:
    unknown = Lease("k9", "a", "0" * 32, NOW + TTL)
    with pytest.raises(StaleLease, match="no such contact"):
        make_leases().renew(unknown, NOW, TTL)


# -- renew ---------------------------------------------------------------------------------------


def test_renew_extends_a_live_lease_and_keeps_its_token(make_leases: MakeLeases) -> None:
    leases = make_leases(contact(1))
    [lease] = leases.lease(CAMPAIGN, 1, "a", NOW, TTL)
    later = NOW + TTL - timedelta(seconds=1)
    renewed = leases.renew(lease, later, TTL)
    assert renewed == attrs.evolve(lease, expires_at=later + TTL)
    assert get(leases, "k1").lease == renewed
    leases.advance(lease, ContactState.DIALING, NOW + TTL)


def test_an_expired_lease_cannot_be_renewed(make_leases: MakeLeases) -> None:
    leases = make_leases(contact(1))
    [lease] = leases.lease(CAMPAIGN, 1, "a", NOW, TTL)
    with pytest.raises(StaleLease, match="expired"):
        leases.renew(lease, NOW + TTL, TTL)
    with pytest.raises(ValidationError) as raised:
        leases.renew(lease, NOW, timedelta(0))
    assert raised.value.field == "ttl"


# -- advance -------------------------------------------------------------------------------------


def test_a_call_moves_leased_dialing_answered_attached_counting_one_attempt(
    make_leases: MakeLeases,
) -> None:
    leases = make_leases(contact(1, attempts=1))
    [lease] = leases.lease(CAMPAIGN, 1, "a", NOW, TTL)
    for state in (ContactState.DIALING, ContactState.ANSWERED, ContactState.ATTACHED):
        leases.advance(lease, state, NOW)
        assert get(leases, "k1").state is state
        assert get(leases, "k1").attempts == 2


@pytest.mark.parametrize(
    ("steps", "wanted"),
    [
        ((), ContactState.ANSWERED),
        ((), ContactState.LEASED),
        ((), ContactState.READY),
        ((ContactState.DIALING,), ContactState.DIALING),
        ((ContactState.DIALING,), ContactState.ATTACHED),
        ((ContactState.DIALING, ContactState.ANSWERED, ContactState.ATTACHED), ContactState.DONE),
    ],
)
def test_any_other_step_is_refused(
    make_leases: MakeLeases, steps: tuple[ContactState, ...], wanted: ContactState
) -> None:
    leases = make_leases(contact(1))
    [lease] = leases.lease(CAMPAIGN, 1, "a", NOW, TTL)
    for state in steps:
        leases.advance(lease, state, NOW)
    before = get(leases, "k1")
    with pytest.raises(InvalidTransition):
        leases.advance(lease, wanted, NOW)
    assert get(leases, "k1") == before


def test_an_unknown_state_is_refused(make_leases: MakeLeases) -> None:
    leases = make_leases(contact(1))
    [lease] = leases.lease(CAMPAIGN, 1, "a", NOW, TTL)
    with pytest.raises(ValueError, match="calling"):
        leases.advance(lease, "calling", NOW)  # type: ignore[arg-type]


# -- complete ------------------------------------------------------------------------------------


def test_complete_schedules_the_next_attempt_and_drops_the_lease(make_leases: MakeLeases) -> None:
    leases = make_leases(contact(1))
    lease = dialled(leases)
    later = NOW + timedelta(seconds=20)
    done = leases.complete(lease, CAMPAIGN, Disposition.NO_ANSWER, later)
    assert done == get(leases, "k1")
    assert done == contact(
        1,
        next_attempt_at=later + CAMPAIGN.retry.no_answer_after,
        attempts=1,
        last_disposition=Disposition.NO_ANSWER,
    )
    with pytest.raises(StaleLease):
        leases.complete(lease, CAMPAIGN, Disposition.NO_ANSWER, later)


def test_the_next_attempt_waits_for_the_window_to_open(make_leases: MakeLeases) -> None:
    business_hours = attrs.evolve(CAMPAIGN, window=CallingWindow(time(8), time(21)))
    leases = make_leases(contact(1, timezone="America/New_York"))
    at = utc(2024, 6, 5, 23)  # 19:00 in New York: four hours later the window is shut
    [lease] = leases.lease(business_hours, 1, "a", at, TTL)
    leases.advance(lease, ContactState.DIALING, at)
    done = leases.complete(lease, business_hours, Disposition.NO_ANSWER, at)
    assert done.next_attempt_at == utc(2024, 6, 6, 12)  # 08:00 in New York


@pytest.mark.parametrize(
    ("disposition", "state"),
    [
        (Disposition.COMPLETED, ContactState.DONE),
        (Disposition.TRANSFERRED, ContactState.DONE),
        (Disposition.HUNG_UP, ContactState.DONE),
        (Disposition.INVALID_NUMBER, ContactState.EXHAUSTED),
        (Disposition.BUSY, ContactState.READY),
        (Disposition.ABANDONED, ContactState.READY),
    ],
)
def test_each_disposition_ends_terminal_or_scheduled(
    make_leases: MakeLeases, disposition: Disposition, state: ContactState
) -> None:
    leases = make_leases(contact(1))
    done = leases.complete(dialled(leases), CAMPAIGN, disposition, NOW)
    assert done.state is state
    assert done == get(leases, "k1")


def test_the_last_attempt_exhausts_the_contact(make_leases: MakeLeases) -> None:
    leases = make_leases(contact(1, attempts=2))
    done = leases.complete(dialled(leases), CAMPAIGN, Disposition.BUSY, NOW)
    assert done.state is ContactState.EXHAUSTED
    assert leases.lease(CAMPAIGN, 1, "a", NOW + timedelta(days=30), TTL) == []


def test_a_contact_never_dialled_cannot_be_completed(make_leases: MakeLeases) -> None:
    leases = make_leases(contact(1))
    [lease] = leases.lease(CAMPAIGN, 1, "a", NOW, TTL)
    with pytest.raises(InvalidTransition):
        leases.complete(lease, CAMPAIGN, Disposition.NO_ANSWER, NOW)
    assert get(leases, "k1").state is ContactState.LEASED


def test_complete_after_the_lease_expired_is_refused(make_leases: MakeLeases) -> None:
    leases = make_leases(contact(1))
    lease = dialled(leases)
    with pytest.raises(StaleLease, match="expired"):
        leases.complete(lease, CAMPAIGN, Disposition.NO_ANSWER, NOW + TTL)
    assert get(leases, "k1").state is ContactState.DIALING


# -- release -------------------------------------------------------------------------------------


def test_release_gives_back_a_contact_never_dialled_without_counting_an_attempt(
    make_leases: MakeLeases,
) -> None:
    leases = make_leases(contact(1, attempts=1))
    [lease] = leases.lease(CAMPAIGN, 1, "a", NOW, TTL)
    leases.release(lease, NOW)
    assert get(leases, "k1") == contact(1, attempts=1)
    [again] = leases.lease(CAMPAIGN, 1, "b", NOW, TTL)
    assert again.contact_id == "k1"
    with pytest.raises(StaleLease):
        leases.release(lease, NOW)


def test_a_dialled_contact_cannot_be_released(make_leases: MakeLeases) -> None:
    leases = make_leases(contact(1))
    lease = dialled(leases)
    with pytest.raises(InvalidTransition):
        leases.release(lease, NOW)
    assert get(leases, "k1").state is ContactState.DIALING


# -- recover_expired -----------------------------------------------------------------------------


def test_calls_whose_dialler_died_are_recovered_as_failed_attempts(
    make_leases: MakeLeases,
) -> None:
    leases = make_leases(contact(1), contact(2), contact(3), contact(4))
    dying = dialled(leases)
    leases.advance(dying, ContactState.ANSWERED, NOW)
    alive = dialled(leases, "b")
    [never_dialled] = leases.lease(CAMPAIGN, 1, "c", NOW, TTL)
    later = NOW + TTL
    leases.renew(alive, later - timedelta(seconds=1), TTL)

    [recovered] = leases.recover_expired(CAMPAIGN, later)

    assert recovered == get(leases, dying.contact_id)
    assert recovered == contact(
        int(dying.contact_id[1:]),
        next_attempt_at=later + CAMPAIGN.retry.failed_after,
        attempts=1,
        last_disposition=Disposition.FAILED,
    )
    assert get(leases, alive.contact_id).state is ContactState.DIALING
    # A lease that expired before any dial is simply up for takeover.
    assert get(leases, never_dialled.contact_id).state is ContactState.LEASED
    assert leases.recover_expired(CAMPAIGN, later) == []
    with pytest.raises(StaleLease):
        leases.complete(dying, CAMPAIGN, Disposition.COMPLETED, later)


def test_recovery_comes_in_lease_order_and_only_for_the_campaign(make_leases: MakeLeases) -> None:
    other = attrs.evolve(CAMPAIGN, id="c2")
    leases = make_leases(
        contact(1, next_attempt_at=NOW - timedelta(minutes=5)),
        contact(2, next_attempt_at=NOW - timedelta(minutes=50)),
        contact(3, campaign_id="c2"),
    )
    for lease in leases.lease(CAMPAIGN, 2, "a", NOW, TTL) + leases.lease(other, 1, "a", NOW, TTL):
        leases.advance(lease, ContactState.DIALING, NOW)
    recovered = leases.recover_expired(CAMPAIGN, NOW + TTL)
    assert [c.id for c in recovered] == ["k2", "k1"]
    assert get(leases, "k3").state is ContactState.DIALING


def test_recovery_exhausts_a_contact_on_its_last_attempt(make_leases: MakeLeases) -> None:
    leases = make_leases(contact(1, attempts=2))
    dialled(leases)
    [recovered] = leases.recover_expired(CAMPAIGN, NOW + TTL)
    assert recovered.state is ContactState.EXHAUSTED


def test_contacts_lists_every_contact_by_id(make_leases: MakeLeases) -> None:
    leases = make_leases(contact(2), contact(1))
    leases.add(contact(3))
    leases.add(contact(1, attempts=1))
    assert leases.contacts() == [contact(1, attempts=1), contact(2), contact(3)]
    assert leases.get("k9") is None
