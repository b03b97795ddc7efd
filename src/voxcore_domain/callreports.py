"""What a fleet worker reports about a call it runs, and how each report grows the call's attempt.

Reports are numbered per call (`sequence` 1, 2, …), so a repeat is recognised by its
`(call_id, sequence)` and can change nothing. They may arrive out of order (a worker retries from
its spool after sending a later one): `merge` only ever adds to an attempt, and the first `ended`
the attempt receives decides how the call ended.

A stand-alone call (a worker's own dial-out or widget call, `model.STANDALONE`) has no attempt
before its first report: each of its reports says so (`Standalone`), and whichever arrives
first records the attempt (`standalone_attempt`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from voxcore_domain import validators as v
from voxcore_domain.callevents import CallEvent, CallEventKind
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import STANDALONE, CallAttempt, CallOrigin


def _sequence(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(attribute.name, f"must be a whole number from 1, got {value!r}")


def _detail(value: Mapping[str, Any]) -> dict[str, Any]:
    # A typed converter: with plain `dict`, mypy's attrs plugin cannot match a dict argument.
    return dict(value)


def _standalone_origin(value: object) -> CallOrigin:
    origin = v.member(CallOrigin, "origin", value)
    if origin not in STANDALONE:
        allowed = ", ".join(sorted(o.value for o in STANDALONE))
        raise ValidationError("origin", f"{value!r} is not one of {allowed}")
    return origin


def _string(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str):
        raise ValidationError(attribute.name, "must be text")


@attrs.frozen
class Standalone:
    """What the reports of a stand-alone call carry for the API to record the call."""

    origin: CallOrigin = attrs.field(converter=_standalone_origin)
    """`dialout` or `widget`."""
    agent_id: str = attrs.field(validator=v.non_empty)
    """The agent that ran the call: it must be the report's tenant's."""


@attrs.frozen
class CallReport:
    """One step of one call, as the fleet worker that ran it reported it."""

    call_id: str = attrs.field(validator=v.non_empty)
    sequence: int = attrs.field(validator=_sequence)
    """1 for the worker's first report of the call; grows by one with each report."""
    event: CallEvent = attrs.field()
    """The step itself: kind, instant, campaign, tenant, disposition and worker."""
    lease_token: str = attrs.field(validator=_string)
    """The dialler's lease on the contact, which fences closing the contact on `ended`; empty
    for a call without a contact (inbound, stand-alone)."""
    detail: Mapping[str, Any] = attrs.field(factory=dict, converter=_detail)
    """What the worker adds as JSON: a `reason`, a `transcript`, a `recording_key`."""
    standalone: Standalone | None = None
    """Set on every report of a stand-alone call, which has no campaign (the event's
    `campaign_id` is empty) and no lease."""

    def __attrs_post_init__(self) -> None:
        if self.standalone is None:
            if not self.event.campaign_id:
                raise ValidationError(
                    "campaign_id", "is required, except for a stand-alone call (with `origin`)"
                )
            return
        if self.event.campaign_id:
            raise ValidationError("campaign_id", "a stand-alone call (with `origin`) has none")
        if self.lease_token:
            raise ValidationError("lease_token", "a stand-alone call (with `origin`) has none")

    @event.validator
    def _same_call(self, attribute: attrs.Attribute[CallEvent], value: CallEvent) -> None:
        if value.call_id != self.call_id:
            raise ValidationError("call_id", f"the event is of call {value.call_id!r}")

    @property
    def key(self) -> tuple[str, int]:
        """What makes a report unique: a second report with the same key is a repeat."""
        return (self.call_id, self.sequence)

    def same_step(self, other: CallReport) -> bool:
        """Whether `other` reports the same step as this one (kind, instant to the millisecond,
        disposition): a repeat must, else the worker numbered two steps alike."""
        return (
            self.key == other.key
            and self.event.kind is other.event.kind
            and _millis(self.event.at) == _millis(other.event.at)
            and self.event.disposition is other.event.disposition
            and self.standalone == other.standalone
        )


def standalone_attempt(report: CallReport) -> CallAttempt:
    """The attempt of the stand-alone call `report` is of, as its first report to arrive
    records it, before the report itself is merged in; `ValidationError` for a report of a
    call that is not stand-alone."""
    if report.standalone is None:
        raise ValidationError("origin", "only a stand-alone call is recorded by its report")
    return CallAttempt(
        id=report.call_id,
        contact_id="",
        campaign_id="",
        tenant_id=report.event.tenant_id,
        number=1,
        lease_token="",
        dialed_at=report.event.at,
        origin=report.standalone.origin,
    )


def _millis(instant: datetime) -> datetime:
    return instant.replace(microsecond=instant.microsecond // 1000 * 1000)


def _earliest(held: datetime | None, reported: datetime) -> datetime:
    return reported if held is None or reported < held else held


def merge(attempt: CallAttempt, event: CallEvent) -> CallAttempt:
    """`attempt` grown by `event`: a field once set is never cleared.

    `answered_at` and `attached_at` keep the earliest instant reported, so they come out the
    same whatever order the reports arrive in; the first `ended` sets `ended_at` and the
    disposition and every later one is ignored; the worker is the first one named. A
    stand-alone call's `dialed_at` is the earliest instant reported, since no dialler set it.
    """
    if event.call_id != attempt.id:
        raise ValidationError("call_id", f"the event is of call {event.call_id!r}")
    changes: dict[str, Any] = {}
    match event.kind:
        case CallEventKind.ANSWERED:
            changes["answered_at"] = _earliest(attempt.answered_at, event.at)
        case CallEventKind.ATTACHED:
            changes["attached_at"] = _earliest(attempt.attached_at, event.at)
        case CallEventKind.ENDED if attempt.ended_at is None:
            changes["ended_at"] = event.at
            changes["disposition"] = event.disposition
        case _:
            pass
    if attempt.worker is None and event.worker is not None:
        changes["worker"] = event.worker
    if attempt.origin in STANDALONE and event.at < attempt.dialed_at:
        changes["dialed_at"] = event.at
    return attrs.evolve(attempt, **changes) if changes else attempt


def keep_recorded(stored: CallAttempt, ours: CallAttempt) -> CallAttempt:
    """The dialler's view `ours` of an attempt, written over the `stored` one without undoing
    what the worker's reports merged into it meanwhile (`merge`): a write the dialler kept while
    MongoDB was down may land after the call's `ended` report.

    Every field the store has set stays as stored (`answered_at` and `attached_at` the earliest
    of both, as `merge` keeps them); the dialler's view only fills in the fields still unset. An
    outcome is taken whole, `ended_at` with its disposition, from whichever recorded one first.
    """
    if stored.id != ours.id:
        raise ValidationError("call_id", f"the stored attempt is of call {stored.id!r}")
    changes: dict[str, Any] = {}
    if ours.answered_at is not None:
        changes["answered_at"] = _earliest(stored.answered_at, ours.answered_at)
    if ours.attached_at is not None:
        changes["attached_at"] = _earliest(stored.attached_at, ours.attached_at)
    if stored.ended_at is None and ours.ended_at is not None:
        changes["ended_at"] = ours.ended_at
        changes["disposition"] = ours.disposition
    if stored.worker is None and ours.worker is not None:
        changes["worker"] = ours.worker
    if stored.not_placed is None and ours.not_placed is not None:
        changes["not_placed"] = ours.not_placed
    return attrs.evolve(stored, **changes) if changes else stored


def recording_key(reports: list[CallReport]) -> str | None:
    """The recording the call's reports name, the latest report's when several do."""
    for report in sorted(reports, key=lambda r: r.sequence, reverse=True):
        key = report.detail.get("recording_key")
        if isinstance(key, str) and key:
            return key
    return None


def transcript(reports: list[CallReport]) -> list[Any] | None:
    """The transcript the call's reports carry, the latest report's when several do."""
    for report in sorted(reports, key=lambda r: r.sequence, reverse=True):
        lines = report.detail.get("transcript")
        if isinstance(lines, list):
            return lines
    return None
