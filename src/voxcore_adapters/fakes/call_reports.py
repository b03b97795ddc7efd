"""Call reports in a dict."""

from __future__ import annotations

import attrs

from voxcore_domain.callreports import CallReport
from voxcore_domain.ports import StoredReport


class InMemoryCallReports:
    """The `CallReports` port over a dict keyed by `(call_id, sequence)`."""

    def __init__(self) -> None:
        self._reports: dict[tuple[str, int], StoredReport] = {}

    def add(self, report: CallReport) -> StoredReport | None:
        stored = self._reports.get(report.key)
        if stored is None:
            self._reports[report.key] = StoredReport(report, applied=False)
        return stored

    def mark_applied(self, call_id: str, sequence: int) -> None:
        stored = self._reports.get((call_id, sequence))
        if stored is not None:
            self._reports[(call_id, sequence)] = attrs.evolve(stored, applied=True)

    def for_call(self, call_id: str) -> list[CallReport]:
        return [stored.report for key, stored in sorted(self._reports.items()) if key[0] == call_id]
