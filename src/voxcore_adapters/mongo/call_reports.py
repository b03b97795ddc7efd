"""The fleet's call reports, one document per `(call_id, sequence)`.

A unique index on that pair makes a repeat's insert fail, so two API processes receiving the same
report at once store it once. `detail` is stored as JSON text: a worker's keys may hold dots or
dollars, which MongoDB field names may not.
"""

from __future__ import annotations

import json

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from voxcore_adapters.mongo.documents import Document
from voxcore_adapters.mongo.schema import CALL_REPORTS, collection
from voxcore_domain.callevents import CallEvent
from voxcore_domain.callreports import CallReport, Standalone
from voxcore_domain.ports import StoredReport


def _document(report: CallReport) -> Document:
    event = report.event
    standalone = report.standalone
    return {
        "call_id": report.call_id,
        "sequence": report.sequence,
        "kind": event.kind.value,
        "at": event.at,
        "campaign_id": event.campaign_id,
        "tenant_id": event.tenant_id,
        "disposition": None if event.disposition is None else event.disposition.value,
        "worker": event.worker,
        "lease_token": report.lease_token,
        "detail": json.dumps(dict(report.detail), separators=(",", ":")),
        "applied": False,
        "origin": None if standalone is None else standalone.origin.value,
        "agent_id": None if standalone is None else standalone.agent_id,
    }


def _report(document: Document) -> CallReport:
    event = CallEvent(
        document["kind"],
        document["call_id"],
        document["campaign_id"],
        document["tenant_id"],
        document["at"],
        document["disposition"],
        document["worker"],
    )
    origin = document.get("origin")
    return CallReport(
        document["call_id"],
        document["sequence"],
        event,
        document["lease_token"],
        json.loads(document["detail"]),
        None if origin is None else Standalone(origin, document["agent_id"]),
    )


class MongoCallReports:
    """The `CallReports` port over the `call_reports` collection."""

    def __init__(self, db: Database[Document]) -> None:
        self._reports = collection(db, CALL_REPORTS)

    def add(self, report: CallReport) -> StoredReport | None:
        try:
            self._reports.insert_one(_document(report))
        except DuplicateKeyError as repeat:
            stored = self._reports.find_one(
                {"call_id": report.call_id, "sequence": report.sequence}
            )
            if stored is None:
                raise RuntimeError(
                    f"report {report.key} was refused as a repeat, yet is gone"
                ) from repeat
            return StoredReport(_report(stored), applied=bool(stored["applied"]))
        return None

    def mark_applied(self, call_id: str, sequence: int) -> None:
        self._reports.update_one(
            {"call_id": call_id, "sequence": sequence}, {"$set": {"applied": True}}
        )

    def for_call(self, call_id: str) -> list[CallReport]:
        found = self._reports.find({"call_id": call_id}).sort("sequence", 1)
        return [_report(document) for document in found]
