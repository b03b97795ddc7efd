"""The drills' auditor on crafted records: a clean campaign passes, and each broken promise is
caught on its own (each test breaks exactly one thing in an otherwise clean campaign)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs
import pytest

from voxcore_domain.model import CallAttempt, Contact, ContactState, Disposition, utc
from voxcore_drills.auditor import Evidence, audit

T0 = utc(2026, 1, 1, 12)


def _contact(
    n: int, state: ContactState = ContactState.DONE, last: Disposition | None = None
) -> Contact:
    return Contact(
        f"k{n}", "camp", "ten", f"+1415555{n:04d}", T0, state=state, attempts=1,
        last_disposition=last,
    )  # fmt: skip


def _attempt(n: int, contact: int, **changes: Any) -> CallAttempt:
    base = CallAttempt(
        id=f"call{n}",
        contact_id=f"k{contact}",
        campaign_id="camp",
        tenant_id="ten",
        number=1,
        lease_token=f"lease{n}",
        dialed_at=T0 + timedelta(seconds=n),
        answered_at=T0 + timedelta(seconds=n + 1),
        attached_at=T0 + timedelta(seconds=n + 1),
        ended_at=T0 + timedelta(seconds=n + 5),
        disposition=Disposition.COMPLETED,
        worker="h1",
    )
    return attrs.evolve(base, **changes)


def _clean() -> Evidence:
    """Three contacts: one completed call, one abandoned call, one unanswered then ready."""
    return Evidence(
        contacts=(
            _contact(1, last=Disposition.COMPLETED),
            _contact(2, last=Disposition.ABANDONED),
            _contact(3, ContactState.READY, last=Disposition.NO_ANSWER),
        ),
        attempts=(
            _attempt(1, 1),
            _attempt(2, 2, attached_at=None, worker=None, disposition=Disposition.ABANDONED),
            _attempt(
                3,
                3,
                answered_at=None,
                attached_at=None,
                worker=None,
                disposition=Disposition.NO_ANSWER,
            ),
            # Turned down by the provider: no attempt, never counted as a dial.
            _attempt(
                4,
                3,
                answered_at=None,
                attached_at=None,
                worker=None,
                disposition=None,
                not_placed="throttled",
                lease_token="lease3",
            ),
        ),
        ended_reports={"call1": 1},
        recordings=frozenset({"call1"}),
        abandoned_in_stats=1,
    )


def test_a_clean_campaign_passes() -> None:
    result = audit(_clean())
    assert result.violations == ()
    assert result.clean
    assert (result.contacts, result.attempts) == (3, 3)


@pytest.mark.parametrize(
    "state", [ContactState.LEASED, ContactState.DIALING, ContactState.ATTACHED]
)
def test_a_contact_left_held_is_lost(state: ContactState) -> None:
    contacts = (*_clean().contacts[:2], _contact(3, state, last=Disposition.NO_ANSWER))
    evidence = attrs.evolve(_clean(), contacts=contacts)
    result = audit(evidence)
    assert [(v.rule, v.subject) for v in result.violations] == [("contact_lost", "k3")]
    assert result.contacts_lost == 1


def test_two_open_attempts_of_one_contact() -> None:
    clean = _clean()
    open_ = (
        _attempt(20, 3, answered_at=None, attached_at=None, ended_at=None, disposition=None),
        _attempt(21, 3, answered_at=None, attached_at=None, ended_at=None, disposition=None),
    )
    result = audit(attrs.evolve(clean, attempts=clean.attempts + open_))
    assert [v.rule for v in result.violations] == ["open_attempts"]
    assert result.duplicate_dials == 1


def test_a_second_dial_while_the_first_is_up() -> None:
    clean = _clean()
    overlapping = _attempt(
        7, 1, dialed_at=T0 + timedelta(seconds=3), disposition=Disposition.NO_ANSWER,
        answered_at=None, attached_at=None,
    )  # fmt: skip
    result = audit(attrs.evolve(clean, attempts=(*clean.attempts, overlapping)))
    assert [v.rule for v in result.violations] == ["duplicate_dial"]
    assert result.duplicate_dials == 1


def test_two_dials_on_one_lease() -> None:
    clean = _clean()
    again = _attempt(
        8, 1, lease_token="lease1", dialed_at=T0 + timedelta(seconds=30),
        answered_at=None, attached_at=None, ended_at=T0 + timedelta(seconds=45),
        disposition=Disposition.NO_ANSWER,
    )  # fmt: skip
    result = audit(attrs.evolve(clean, attempts=(*clean.attempts, again)))
    assert [v.rule for v in result.violations] == ["duplicate_dial"]


def test_an_answered_call_without_an_outcome() -> None:
    clean = _clean()
    attempts = (_attempt(1, 1, disposition=None, ended_at=None), *clean.attempts[1:])
    result = audit(attrs.evolve(clean, attempts=attempts))
    assert [(v.rule, v.subject) for v in result.violations] == [("no_outcome", "call1")]


def test_an_answered_call_with_two_outcomes() -> None:
    result = audit(attrs.evolve(_clean(), ended_reports={"call1": 2}))
    assert [(v.rule, v.subject) for v in result.violations] == [("two_outcomes", "call1")]


def test_abandons_that_do_not_match_the_statistics() -> None:
    result = audit(attrs.evolve(_clean(), abandoned_in_stats=0))
    assert [v.rule for v in result.violations] == ["abandon_count"]


def test_a_contact_closed_as_abandoned_whose_call_log_says_otherwise() -> None:
    clean = _clean()
    contacts = (*clean.contacts[:2], _contact(3, ContactState.READY, last=Disposition.ABANDONED))
    result = audit(attrs.evolve(clean, contacts=contacts, abandoned_in_stats=1))
    assert [(v.rule, v.subject) for v in result.violations] == [("abandon_count", "k3")]


def test_a_completed_call_without_its_recording() -> None:
    result = audit(attrs.evolve(_clean(), recordings=frozenset()))
    assert [(v.rule, v.subject) for v in result.violations] == [("recording_lost", "call1")]
    assert result.recordings_lost == 1


def test_a_call_that_never_reached_a_worker_needs_no_recording() -> None:
    clean = _clean()
    # call2 was abandoned before any worker took it: nothing was recorded, nothing is missing.
    assert "call2" not in clean.recordings
    assert audit(clean).recordings_lost == 0
