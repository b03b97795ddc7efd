"""One drill run: start the platform once, run the drills in turn on it, check the logs for
secrets, stop everything. Each drill's failure to even complete is a failed row, not the end
of the run."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import attrs

from voxcore_drills.drills import Drills, Row, secrets_in
from voxcore_drills.platform import Platform

THROTTLED_TRUNK = "ST_drill_throttled"
FAILING_TRUNK = "ST_drill_down"

DRILLS: dict[str, Callable[[Drills], Row]] = {
    "worker": Drills.worker_killed,
    "leader": Drills.leader_killed,
    "redis": Drills.redis_stopped,
    "mongo": Drills.mongo_stopped,
    "s3": Drills.s3_stopped,
    "carrier": lambda d: d.carrier_faults(THROTTLED_TRUNK, FAILING_TRUNK),
}
"""Every drill by its short name, in the order they run."""


@attrs.frozen
class Outcome:
    rows: tuple[Row, ...]
    secrets_found: tuple[str, ...]
    """`<secret> in <log>`: empty when no log holds a key, token or secret."""
    run_dir: Path

    @property
    def ok(self) -> bool:
        return all(row.ok for row in self.rows) and not self.secrets_found


def run(
    out: Path,
    names: Sequence[str] = tuple(DRILLS),
    *,
    workers: int = 3,
    contacts: int = 10,
    outage_s: float = 10.0,
    carrier_window_s: float = 20.0,
    progress: Callable[[str], None] = print,
) -> Outcome:
    # Absolute: nginx resolves relative paths against its own prefix.
    run_dir = out.resolve() / datetime.now(UTC).strftime("drills-%Y%m%d-%H%M%S")
    platform = Platform(
        run_dir,
        workers=workers,
        trunk_faults={THROTTLED_TRUNK: "throttle", FAILING_TRUNK: "fail"},
    )
    rows: list[Row] = []
    progress(f"drills: starting the platform ({workers} workers); logs in {platform.log_dir}")
    with platform:
        platform.start_dialler("dialler-a")
        platform.start_dialler("dialler-b")
        drills = Drills(
            platform, contacts=contacts, outage_s=outage_s, carrier_window_s=carrier_window_s
        )
        try:
            for name in names:
                progress(f"drills: {name}")
                rows.append(_one(name, drills))
        finally:
            drills.close()
    # After the stop: the servers' output is in the log directory then, shutdowns included.
    found = secrets_in(platform.logs(), platform.secrets.all())
    return Outcome(tuple(rows), tuple(found), run_dir)


def _one(name: str, drills: Drills) -> Row:
    try:
        return DRILLS[name](drills)
    except Exception as error:  # a drill that breaks is a failed row
        detail = "".join(traceback.format_exception_only(error)).strip()
        return Row(name, "did not complete", None, None, (detail,))
