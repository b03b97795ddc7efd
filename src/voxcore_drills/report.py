"""The drills' table: one row per drill, then the log check."""

from __future__ import annotations

from rich.table import Table

from voxcore_drills.drills import Row
from voxcore_drills.run import Outcome


def _count(row: Row, value: int | None) -> str:
    return "?" if row.audit is None or value is None else str(value)


def table(outcome: Outcome) -> Table:
    grid = Table(title="Fault drills")
    for header in (
        "drill",
        "fault",
        "recovery s",
        "contacts lost",
        "duplicate dials",
        "recordings lost",
        "other violations",
        "result",
    ):
        grid.add_column(header)
    for row in outcome.rows:
        result = row.audit
        other = (
            len(result.violations)
            - result.contacts_lost
            - result.duplicate_dials
            - result.recordings_lost
            if result is not None
            else None
        )
        grid.add_row(
            row.drill,
            row.fault,
            "-" if row.recovery_s is None else f"{row.recovery_s:.1f}",
            _count(row, result.contacts_lost if result else None),
            _count(row, result.duplicate_dials if result else None),
            _count(row, result.recordings_lost if result else None),
            _count(row, other),
            "ok" if row.ok else "FAILED",
        )
    grid.add_row(
        "logs",
        "no API key, token or secret",
        "-",
        "-",
        "-",
        "-",
        str(len(outcome.secrets_found)),
        "ok" if not outcome.secrets_found else "FAILED",
    )
    return grid


def findings(outcome: Outcome) -> list[str]:
    """Every failed check and violation, one line each; what each drill measured."""
    lines: list[str] = []
    for row in outcome.rows:
        lines += [f"{row.drill}: {note}" for note in row.notes]
        lines += [f"{row.drill}: FAILED {check}" for check in row.checks]
        if row.audit is not None:
            lines += [
                f"{row.drill}: FAILED {v.rule} {v.subject}: {v.detail}"
                for v in row.audit.violations
            ]
    lines += [f"logs: FAILED {found}" for found in outcome.secrets_found]
    return lines
