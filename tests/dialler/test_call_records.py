"""The dialler's call log writes never undo a worker's report: a write it kept while MongoDB
was down may land after the API merged the call's `ended` into the attempt (found by the Mongo
drill, `make drills`: the late write erased the outcome and left the attempt open forever)."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from apps.dialler.loop import record_growth
from voxcore_adapters.fakes import InMemoryCallLog
from voxcore_domain.callreports import keep_recorded
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import CallAttempt, Disposition, utc

T0 = utc(2026, 1, 1, 12)
ANSWERED = CallAttempt(
    id="c1",
    contact_id="k1",
    campaign_id="camp",
    tenant_id="ten",
    number=1,
    lease_token="l1",
    dialed_at=T0,
    answered_at=T0 + timedelta(seconds=2),
)
ATTACHED = attrs.evolve(ANSWERED, attached_at=T0 + timedelta(seconds=3), worker="h1")
REPORTED = attrs.evolve(
    ANSWERED,
    attached_at=T0 + timedelta(seconds=2.5),
    worker="h1/2",
    ended_at=T0 + timedelta(seconds=30),
    disposition=Disposition.COMPLETED,
)


def test_a_late_attach_write_keeps_the_reported_outcome() -> None:
    log = InMemoryCallLog()
    log.record(REPORTED)
    record_growth(log, ATTACHED)
    assert log.get("c1") == REPORTED


def test_the_dialler_fills_in_what_nobody_recorded_yet() -> None:
    log = InMemoryCallLog()
    log.record(ANSWERED)
    record_growth(log, ATTACHED)
    assert log.get("c1") == ATTACHED
    failed = attrs.evolve(
        ATTACHED, ended_at=T0 + timedelta(seconds=60), disposition=Disposition.FAILED
    )
    record_growth(log, failed)
    assert log.get("c1") == failed


def test_the_first_outcome_recorded_stays() -> None:
    closed_by_dialler = attrs.evolve(
        ATTACHED, ended_at=T0 + timedelta(seconds=90), disposition=Disposition.FAILED
    )
    kept = keep_recorded(REPORTED, closed_by_dialler)
    assert (kept.ended_at, kept.disposition) == (REPORTED.ended_at, Disposition.COMPLETED)
    # The earliest attach, the worker the report named.
    assert kept.attached_at == REPORTED.attached_at
    assert kept.worker == "h1/2"


def test_the_first_record_of_a_dial_is_written_as_is() -> None:
    log = InMemoryCallLog()
    record_growth(log, ANSWERED)
    assert log.get("c1") == ANSWERED


def test_another_calls_attempt_is_refused() -> None:
    with pytest.raises(ValidationError):
        keep_recorded(REPORTED, attrs.evolve(ATTACHED, id="c2"))
