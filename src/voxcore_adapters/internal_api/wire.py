"""A call report as JSON: the body of `POST /v1/internal/call-events`, also the form a report
waits in on a worker's spool."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from voxcore_domain.model import CallOrigin, Disposition
from voxcore_domain.voice.report import ReportKind, WorkerReport


def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def report_body(report: WorkerReport) -> dict[str, Any]:
    """The contract's JSON body of `report` (docs/repository-map.md)."""
    body: dict[str, Any] = {
        "call_id": report.call_id,
        "sequence": report.sequence,
        "kind": report.kind.value,
        "at": _timestamp(report.at),
        "tenant_id": report.tenant_id,
        "campaign_id": report.campaign_id,
        "lease_token": report.lease_token,
        "worker": report.worker,
    }
    if report.disposition is not None:
        body["disposition"] = report.disposition.value
    if report.detail:
        body["detail"] = dict(report.detail)
    if report.origin is not None:
        body["origin"] = report.origin.value
        body["agent_id"] = report.agent_id
    return body


def report_from_body(body: dict[str, Any]) -> WorkerReport:
    """The report `report_body` made; `KeyError`, `ValueError` (`ValidationError` included) or
    `TypeError` for anything else."""
    disposition = body.get("disposition")
    campaign_id = body.get("campaign_id")
    origin = body.get("origin")
    agent_id = body.get("agent_id")
    return WorkerReport(
        call_id=str(body["call_id"]),
        sequence=int(body["sequence"]),
        kind=ReportKind(body["kind"]),
        at=datetime.fromisoformat(str(body["at"])),
        tenant_id=str(body["tenant_id"]),
        campaign_id=None if campaign_id is None else str(campaign_id),
        lease_token=None if body.get("lease_token") is None else str(body["lease_token"]),
        worker=str(body["worker"]),
        disposition=None if disposition is None else Disposition(disposition),
        detail=dict(body.get("detail") or {}),
        origin=None if origin is None else CallOrigin(origin),
        agent_id=None if agent_id is None else str(agent_id),
    )
