"""What a fleet worker tells the API about a call it runs (the call-event contract in
docs/repository-map.md): that it took the call (`attached`), then how it ended (`ended`).

Each report of a call carries the next `sequence`; the pair (`call_id`, `sequence`) makes a
report idempotent, so a report sent twice (a retry, a resend from the spool) counts once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

import attrs

from voxcore_domain import validators as v
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import STANDALONE, CallOrigin, Disposition
from voxcore_domain.voice.call import CallOutcome, CallSetup


class ReportKind(StrEnum):
    ATTACHED = "attached"
    """The worker took the call onto its slot."""
    ENDED = "ended"
    """The call ended; the report carries its disposition."""


def _detail(value: Mapping[str, Any]) -> dict[str, Any]:
    return dict(value)


@attrs.frozen
class WorkerReport:
    """One event of one call, as the API's `POST /v1/internal/call-events` takes it."""

    call_id: str = attrs.field(validator=v.non_empty)
    sequence: int = attrs.field(validator=v.positive_int)
    """1 for a call's first report, growing by one with each later one."""
    kind: ReportKind = attrs.field(converter=ReportKind)
    at: datetime = attrs.field(validator=v.aware)
    tenant_id: str = attrs.field(validator=v.non_empty)
    campaign_id: str | None = attrs.field(validator=v.optional(v.non_empty))
    """None for a stand-alone call (`origin` set), which has no campaign."""
    lease_token: str | None
    """The dialler's lease on the contact, which fences the contact's update; None inbound."""
    worker: str = attrs.field(validator=v.non_empty)
    """Who ran the call: `<host>/<worker>`."""
    disposition: Disposition | None = None
    """How the call ended: set on `ended` reports only."""
    detail: Mapping[str, Any] = attrs.field(factory=dict, converter=_detail)
    """`reason`, `transcript`, `recording_key`: whatever the worker knows of the call."""
    origin: CallOrigin | None = None
    """`dialout` or `widget` for a stand-alone call the worker started itself: the API records
    the call from its first report. None for any other call."""
    agent_id: str | None = None
    """The agent that ran a stand-alone call (the API checks it is the tenant's); None for any
    other call."""

    def __attrs_post_init__(self) -> None:
        if (self.kind is ReportKind.ENDED) != (self.disposition is not None):
            raise ValidationError("disposition", "is set on ended reports, and only on them")
        if self.origin is None:
            if self.campaign_id is None:
                raise ValidationError("campaign_id", "is required but for a stand-alone call")
            if self.agent_id is not None:
                raise ValidationError("agent_id", "is only for a stand-alone call")
            return
        if self.origin not in STANDALONE:
            raise ValidationError("origin", f"{self.origin!r} is not a stand-alone call's origin")
        if self.campaign_id is not None or self.lease_token:
            raise ValidationError("campaign_id", "a stand-alone call has no campaign or lease")
        if not self.agent_id:
            raise ValidationError("agent_id", "is required for a stand-alone call")


def attached(call: CallSetup, sequence: int, at: datetime, worker: str) -> WorkerReport:
    """The report that `worker` took `call`."""
    return _of(call, sequence, ReportKind.ATTACHED, at, worker)


def ended(
    call: CallSetup,
    outcome: CallOutcome,
    sequence: int,
    at: datetime,
    worker: str,
    recording_key: str | None,
) -> WorkerReport:
    """The report of how `call` ended. Its transcript is the call's log of steps (speech,
    keys, prompts, barge-ins, each with its time into the call): the scripted agent has no
    words to transcribe, and a speech pipeline's steps carry its text in `detail`."""
    detail: dict[str, Any] = {
        "transcript": [
            {"at_ms": step.at_ms, "kind": step.kind.value, "detail": step.detail}
            for step in outcome.steps
        ],
    }
    if outcome.reason:
        detail["reason"] = outcome.reason
    if recording_key is not None:
        detail["recording_key"] = recording_key
    return _of(call, sequence, ReportKind.ENDED, at, worker, outcome.disposition, detail)


def not_connected(
    call: CallSetup,
    disposition: Disposition,
    reason: str,
    sequence: int,
    at: datetime,
    worker: str,
) -> WorkerReport:
    """The report of a call the worker took but never talked on: its dial was not answered
    (`busy`, `no_answer`, …) or its setup failed. Nothing was said, so nothing was recorded."""
    detail = {"transcript": [], "reason": reason}
    return _of(call, sequence, ReportKind.ENDED, at, worker, disposition, detail)


def _of(
    call: CallSetup,
    sequence: int,
    kind: ReportKind,
    at: datetime,
    worker: str,
    disposition: Disposition | None = None,
    detail: Mapping[str, Any] | None = None,
) -> WorkerReport:
    """A report of `call`: a stand-alone call's names its origin and agent instead of its
    campaign, which only files its recording."""
    standalone = call.origin is not None
    return WorkerReport(
        call.call_id,
        sequence,
        kind,
        at,
        call.tenant_id,
        None if standalone else call.campaign_id,
        None if standalone else call.lease_token,
        worker,
        disposition=disposition,
        detail={} if detail is None else detail,
        origin=call.origin,
        agent_id=call.agent_id if standalone else None,
    )
