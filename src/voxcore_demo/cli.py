"""`vox`: the platform's command line. `vox demo --minutes 3 --workers 8`."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from rich.console import Console

from voxcore_demo.config import DemoConfig
from voxcore_demo.run import run


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vox", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="run every role on this machine against a simulated carrier"
    )
    demo.add_argument("--minutes", type=float, default=3.0, help="how long to dial (3)")
    demo.add_argument("--workers", type=int, default=8, help="fleet workers = call slots (8)")
    demo.add_argument("--contacts", type=int, default=3000, help="synthetic contacts (3000)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the callees and contacts")
    demo.add_argument(
        "--no-nginx",
        action="store_true",
        help="reach the worker sockets directly even when nginx is installed",
    )
    demo.add_argument(
        "--out", type=Path, default=Path("build/demo"), help="where runs are kept (build/demo)"
    )
    return parser


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM ends the run as Ctrl-C does, so the children are stopped either way.
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    config = DemoConfig(
        minutes=args.minutes,
        workers=args.workers,
        contacts=args.contacts,
        seed=args.seed,
        nginx=not args.no_nginx,
    )
    signal.signal(signal.SIGTERM, _interrupt)
    console = Console()
    try:
        outcome = asyncio.run(run(config, args.out, console))
    except KeyboardInterrupt:
        console.print("\ndemo: interrupted")
        return 130
    return 1 if outcome.leftovers else 0


if __name__ == "__main__":
    sys.exit(main())
