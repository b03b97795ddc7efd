"""How a call's reports grow its attempt: fields only grow, the first `ended` wins, and the order
reports arrive in changes nothing else."""

from __future__ import annotations

import functools
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxcore_domain.callevents import CallEvent, CallEventKind
from voxcore_domain.callreports import (
    CallReport,
    Standalone,
    merge,
    recording_key,
    standalone_attempt,
    transcript,
)
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import CallAttempt, CallOrigin, Disposition, utc

T0 = utc(2024, 6, 5, 12)
ATTEMPT = CallAttempt("call-1", "k1", "c1", "t1", 1, "0" * 32, T0)


def event(
    kind: str, second: int, disposition: str | None = None, worker: str | None = None
) -> CallEvent:
    return CallEvent(
        kind, "call-1", "c1", "t1", T0 + timedelta(seconds=second), disposition, worker
    )


events = st.builds(
    lambda kind, second, disposition, worker: event(
        kind, second, disposition if kind == "ended" else None, worker
    ),
    st.sampled_from([k.value for k in CallEventKind]),
    st.integers(0, 600),
    st.sampled_from([d.value for d in Disposition]),
    st.sampled_from([None, "h1/w1", "h2/w7"]),
)


def merged(attempt: CallAttempt, reported: list[CallEvent]) -> CallAttempt:
    return functools.reduce(merge, reported, attempt)


@given(st.lists(events, max_size=8), events)
def test_a_set_field_is_never_cleared(reported: list[CallEvent], last: CallEvent) -> None:
    before = merged(ATTEMPT, reported)
    after = merge(before, last)
    for field in ("answered_at", "attached_at", "ended_at", "disposition", "worker"):
        if getattr(before, field) is not None:
            assert getattr(after, field) is not None


@given(st.lists(events, max_size=8))
def test_the_first_ended_decides_how_the_call_ended(reported: list[CallEvent]) -> None:
    result = merged(ATTEMPT, reported)
    ends = [e for e in reported if e.kind is CallEventKind.ENDED]
    if ends:
        assert (result.ended_at, result.disposition) == (ends[0].at, ends[0].disposition)
    else:
        assert (result.ended_at, result.disposition) == (None, None)


@given(
    st.lists(events, max_size=8).map(
        lambda es: [e for e in es if e.kind is not CallEventKind.ENDED]
    ),
    st.randoms(),
)
def test_without_competing_ends_the_order_of_arrival_changes_nothing(
    reported: list[CallEvent], rng: object
) -> None:
    shuffled = list(reported)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    one, other = merged(ATTEMPT, reported), merged(ATTEMPT, shuffled)
    assert (one.answered_at, one.attached_at) == (other.answered_at, other.attached_at)
    assert (one.worker is None) == (other.worker is None)


def test_a_late_attached_keeps_the_end_and_fills_in_what_was_missing() -> None:
    ended = merge(ATTEMPT, event("ended", 90, "completed", "h1/w1"))
    grown = merge(ended, event("attached", 5, worker="h1/w1"))
    assert grown.ended_at == T0 + timedelta(seconds=90)
    assert grown.disposition is Disposition.COMPLETED
    assert grown.attached_at == T0 + timedelta(seconds=5)
    assert merge(grown, event("ended", 95, "failed")) == grown


def test_an_event_of_another_call_is_refused() -> None:
    other = CallEvent("answered", "call-2", "c1", "t1", T0)
    with pytest.raises(ValidationError) as refused:
        merge(ATTEMPT, other)
    assert refused.value.field == "call_id"


@pytest.mark.parametrize("sequence", [0, -1, True])
def test_a_sequence_starts_at_one(sequence: int) -> None:
    with pytest.raises(ValidationError) as refused:
        CallReport("call-1", sequence, event("answered", 1), "tok")
    assert refused.value.field == "sequence"


def test_the_latest_transcript_and_recording_are_the_calls() -> None:
    reports = [
        CallReport("call-1", 2, event("attached", 2), "tok", {"recording_key": "t1/call-1/a.wav"}),
        CallReport("call-1", 3, event("ended", 3, "completed"), "tok", {"transcript": ["hi"]}),
        CallReport("call-1", 1, event("answered", 1), "tok", {"transcript": "not a list"}),
    ]
    assert transcript(reports) == ["hi"]
    assert recording_key(reports) == "t1/call-1/a.wav"
    assert transcript(reports[:1]) is None
    assert recording_key(reports[1:]) is None


def standalone_event(kind: str, second: int, disposition: str | None = None) -> CallEvent:
    return CallEvent(kind, "lk-1", "", "t1", T0 + timedelta(seconds=second), disposition, "h/w")


def test_a_stand_alone_call_is_recorded_by_its_first_report_with_no_campaign_or_contact() -> None:
    ended = CallReport(
        "lk-1", 2, standalone_event("ended", 30, "hung_up"), "", {}, Standalone("widget", "a1")
    )
    first = standalone_attempt(ended)
    assert first == CallAttempt("lk-1", "", "", "t1", 1, "", T0 + timedelta(seconds=30),
                                origin=CallOrigin.WIDGET)  # fmt: skip
    grown = merge(merge(first, ended.event), standalone_event("attached", 2))
    # No dialler set `dialed_at`: the earliest report does, whatever the order they came in.
    assert (grown.dialed_at, grown.attached_at) == (T0 + timedelta(seconds=2),) * 2
    assert (grown.disposition, grown.ended_at) == (Disposition.HUNG_UP, T0 + timedelta(seconds=30))
    # A campaign's attempt keeps the dialler's instant.
    early = CallEvent("attached", "call-1", "c1", "t1", T0 - timedelta(seconds=1))
    assert merge(ATTEMPT, early).dialed_at == T0


@pytest.mark.parametrize(
    ("campaign_id", "lease_token", "standalone", "field"),
    [
        ("", "tok", None, "campaign_id"),
        ("c1", "", Standalone("dialout", "a1"), "campaign_id"),
        ("", "tok", Standalone("dialout", "a1"), "lease_token"),
    ],
)
def test_only_a_stand_alone_report_has_no_campaign_and_no_lease(
    campaign_id: str, lease_token: str, standalone: Standalone | None, field: str
) -> None:
    reported = CallEvent("attached", "lk-1", campaign_id, "t1", T0)
    with pytest.raises(ValidationError) as refused:
        CallReport("lk-1", 1, reported, lease_token, {}, standalone)
    assert refused.value.field == field


@pytest.mark.parametrize(
    ("origin", "agent_id", "field"),
    [("campaign", "a1", "origin"), ("inbound", "a1", "origin"), ("dialout", " ", "agent_id")],
)
def test_a_stand_alone_call_is_a_dialout_or_a_widget_call_with_an_agent(
    origin: str, agent_id: str, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        Standalone(origin, agent_id)
    assert refused.value.field == field


def test_only_a_stand_alone_reports_call_is_recorded_by_it() -> None:
    with pytest.raises(ValidationError) as refused:
        standalone_attempt(CallReport("call-1", 1, event("attached", 1), "tok"))
    assert refused.value.field == "origin"
