"""Every fault drill (`make drills`) on the whole platform, with shorter outages: each drill's
own checks hold and its audit is clean, and no log of the run holds a key, token or secret.

The platform is started once for the module (it takes a while on a loaded machine) and the
drills run in turn on it, each on a campaign of its own; the tests below read their rows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from voxcore_drills.report import findings
from voxcore_drills.run import DRILLS, Outcome, run

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    out: Path = tmp_path_factory.mktemp("drills")
    return run(out, contacts=8, outage_s=6.0, carrier_window_s=12.0, progress=lambda _: None)


@pytest.mark.parametrize("name", list(DRILLS))
def test_the_drill_recovers_and_its_audit_is_clean(outcome: Outcome, name: str) -> None:
    row = outcome.rows[list(DRILLS).index(name)]
    assert row.audit is not None, row.checks
    assert row.checks == (), findings(outcome)
    assert row.audit.violations == (), findings(outcome)
    assert row.audit.attempts > 0
    assert (row.audit.contacts_lost, row.audit.duplicate_dials, row.audit.recordings_lost) == (
        0,
        0,
        0,
    )
    assert row.ok


def test_no_log_of_the_run_holds_a_secret(outcome: Outcome) -> None:
    assert outcome.secrets_found == ()
    logs = list((outcome.run_dir / "logs").glob("*.log"))
    # The check read the logs of every process: API, workers (also restarted), diallers, servers.
    names = {path.name for path in logs}
    assert {"api.log", "fleet-1.log", "dialler-dialler-a.log", "server-nginx.log"} <= names
