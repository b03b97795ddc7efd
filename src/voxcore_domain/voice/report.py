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
from voxcore_domain.model import Disposition
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
    campaign_id: str = attrs.field(validator=v.non_empty)
    lease_token: str | None
    """The dialler's lease on the contact, which fences the contact's update; None inbound."""
    worker: str = attrs.field(validator=v.non_empty)
    """Who ran the call: `<host>/<worker>`."""
    disposition: Disposition | None = None
    """How the call ended: set on `ended` reports only."""
    detail: Mapping[str, Any] = attrs.field(factory=dict, converter=_detail)
    """`reason`, `transcript`, `recording_key`: whatever the worker knows of the call."""

    def __attrs_post_init__(self) -> None:
        if (self.kind is ReportKind.ENDED) != (self.disposition is not None):
            raise ValidationError("disposition", "is set on ended reports, and only on them")


def attached(call: CallSetup, sequence: int, at: datetime, worker: str) -> WorkerReport:
    """The report that `worker` took `call`."""
    return _report(call, sequence, ReportKind.ATTACHED, at, worker)


def _report(
    call: CallSetup,
    sequence: int,
    kind: ReportKind,
    at: datetime,
    worker: str,
    disposition: Disposition | None = None,
    detail: Mapping[str, Any] | None = None,
) -> WorkerReport:
    return WorkerReport(
        call.call_id,
        sequence,
        kind,
        at,
        call.tenant_id,
        call.campaign_id,
        call.lease_token,
        worker,
        disposition=disposition,
        detail=detail or {},
    )


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
    return _report(call, sequence, ReportKind.ENDED, at, worker, outcome.disposition, detail)


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
    return _report(call, sequence, ReportKind.ENDED, at, worker, disposition, detail)
