"""The drills' verdict: a run fails on any failed check, any audit violation, a drill that did
not complete, or a secret in a log; the table and the findings say which."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from voxcore_drills.auditor import Audit, Violation
from voxcore_drills.drills import Row, secrets_in
from voxcore_drills.report import findings, table
from voxcore_drills.run import Outcome

CLEAN = Audit((), contacts=10, attempts=9)


def _outcome(*rows: Row, secrets: tuple[str, ...] = ()) -> Outcome:
    return Outcome(rows, secrets, Path("/tmp/run"))


def _printed(outcome: Outcome) -> str:
    console = Console(width=200, record=True)
    console.print(table(outcome))
    return console.export_text()


def test_a_clean_run_passes() -> None:
    outcome = _outcome(Row("redis", "Redis down", 1.0, CLEAN))
    assert outcome.ok
    assert "FAILED" not in _printed(outcome)


def test_a_failed_check_fails_the_run() -> None:
    outcome = _outcome(Row("redis", "Redis down", 1.0, CLEAN, ("dialled while down",)))
    assert not outcome.ok
    assert "FAILED" in _printed(outcome)
    assert findings(outcome) == ["redis: FAILED dialled while down"]


def test_a_violation_fails_the_run_and_is_counted_in_its_column() -> None:
    lost = Audit((Violation("recording_lost", "c1", "completed, no recording"),), 10, 9)
    outcome = _outcome(Row("s3", "S3 down", 2.0, lost))
    assert not outcome.ok
    line = next(line for line in _printed(outcome).splitlines() if "S3 down" in line)
    assert line.split("│")[6].strip() == "1"  # recordings lost
    assert findings(outcome) == ["s3: FAILED recording_lost c1: completed, no recording"]


def test_a_drill_that_did_not_complete_fails_the_run() -> None:
    outcome = _outcome(Row("mongo", "did not complete", None, None, ("TimeoutError: …",)))
    assert not outcome.ok
    assert "?" in _printed(outcome)


def test_a_secret_in_a_log_fails_the_run() -> None:
    outcome = _outcome(
        Row("redis", "Redis down", 1.0, CLEAN), secrets=("internal token in api.log",)
    )
    assert not outcome.ok
    assert findings(outcome) == ["logs: FAILED internal token in api.log"]


def test_every_secret_in_every_log_is_named() -> None:
    logs = {
        "api.log": "INFO started\nDEBUG header Bearer s3cr3t-admin-key\n",
        "fleet-1.log": "token=tok-internal-123 and again s3cr3t-admin-key",
        "dialler-a.log": "nothing to see",
    }
    secrets = {"admin API key": "s3cr3t-admin-key", "internal token": "tok-internal-123"}
    assert secrets_in(logs, secrets) == [
        "admin API key in api.log",
        "admin API key in fleet-1.log",
        "internal token in fleet-1.log",
    ]
    assert secrets_in({"dialler-a.log": "nothing to see"}, secrets) == []
