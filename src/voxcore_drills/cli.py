"""`python -m voxcore_drills` (`make drills`): run the fault drills on this machine and print one
row per drill; the exit status is 1 if any drill, audit or log check failed."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from rich.console import Console

from voxcore_drills.report import findings, table
from voxcore_drills.run import DRILLS, run


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m voxcore_drills", description=__doc__)
    parser.add_argument(
        "drills", nargs="*", choices=[*DRILLS, []], help=f"which (all): {', '.join(DRILLS)}"
    )
    parser.add_argument("--workers", type=int, default=3, help="fleet workers (3)")
    parser.add_argument("--contacts", type=int, default=10, help="contacts per campaign (10)")
    parser.add_argument("--outage", type=float, default=10.0, help="server outages, s (10)")
    parser.add_argument(
        "--out", type=Path, default=Path("build/drills"), help="where runs are kept (build/drills)"
    )
    return parser


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM ends the run as Ctrl-C does, so the platform is stopped either way.
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    # Wide enough for the table also when the output is a CI log, not a terminal.
    console = Console(width=None if sys.stdout.isatty() else 150)
    try:
        outcome = run(
            args.out,
            args.drills or tuple(DRILLS),
            workers=args.workers,
            contacts=args.contacts,
            outage_s=args.outage,
            progress=console.print,
        )
    except KeyboardInterrupt:
        console.print("\ndrills: interrupted")
        return 130
    console.print(table(outcome))
    for line in findings(outcome):
        console.print(line, markup=False)
    console.print(f"drills: logs in {outcome.run_dir / 'logs'}")
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
