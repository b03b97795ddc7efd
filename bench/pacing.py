"""Pacing strategies over a grid of scenarios: occupancy, abandon rate, worst hour.

    make bench-pacing                      # the full grid, every strategy (several minutes)
    python -m bench.pacing --demo          # one scenario, quickly: `make demo-sim`

Each run is the simulator (`voxcore_domain.simulation`), deterministic for its seed; runs are
spread over the machine's cores. The figures are simulated outcomes, not timings: the only
timing printed is each run's wall time, for the record.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor

import attrs

from voxcore_domain.simulation import Scenario, SimulationReport, simulate

STRATEGIES = ("preview", "progressive", "ratio:2", "vicidial", "predictive")


@attrs.frozen
class Row:
    name: str
    scenario: Scenario


def grid(hours: float, seed: int) -> list[Row]:
    rows = [
        Row(
            f"ans={answer:.2f} slots={slots} talk={talk:.0f}s",
            Scenario(slots=slots, answer_rate=answer, mean_talk_s=talk, hours=hours, seed=seed),
        )
        for answer in (0.1, 0.25, 0.5)
        for slots in (10, 100, 1000)
        for talk in (60.0, 180.0)
    ]
    drop_at = hours * 0.4
    rows.append(
        Row(
            "capacity drop 100→50 slots",
            Scenario(slots=100, slot_schedule=((drop_at, 50),), hours=hours, seed=seed),
        )
    )
    rows.append(
        Row(
            "answer-rate drop 0.25→0.10",
            Scenario(
                answer_rate=0.25, answer_rate_schedule=((drop_at, 0.10),), hours=hours, seed=seed
            ),
        )
    )
    return rows


def _run(job: tuple[Row, str]) -> tuple[str, str, SimulationReport, float]:
    row, strategy = job
    started = time.perf_counter()
    report = simulate(row.scenario, strategy)
    return row.name, strategy, report, time.perf_counter() - started


def run_all(
    rows: Sequence[Row], strategies: Sequence[str], workers: int
) -> dict[tuple[str, str], tuple[SimulationReport, float]]:
    jobs = [(row, strategy) for row in rows for strategy in strategies]
    # The biggest fleets first, so one long run does not finish alone at the end.
    jobs.sort(key=lambda job: -job[0].scenario.slots)
    results: dict[tuple[str, str], tuple[SimulationReport, float]] = {}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for done, (name, strategy, report, seconds) in enumerate(pool.map(_run, jobs), 1):
            results[(name, strategy)] = (report, seconds)
            print(f"\r  {done}/{len(jobs)} runs", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return results


def table(
    rows: Sequence[Row],
    strategies: Sequence[str],
    results: dict[tuple[str, str], tuple[SimulationReport, float]],
) -> Iterable[str]:
    header = (
        f"{'scenario':34} {'strategy':12} {'occupancy':>9} {'abandon':>8} {'worst hr':>8}"
        f" {'dials':>8} {'wall s':>6}"
    )
    yield header
    yield "-" * len(header)
    for row in rows:
        for strategy in strategies:
            report, seconds = results[(row.name, strategy)]
            yield (
                f"{row.name:34} {strategy:12} {report.occupancy:9.3f} {report.abandon_rate:8.2%}"
                f" {report.max_hourly_abandon_rate:8.2%} {report.dials:8d} {seconds:6.1f}"
            )
        yield ""


def verdicts(
    rows: Sequence[Row], results: dict[tuple[str, str], tuple[SimulationReport, float]]
) -> Iterable[str]:
    """The issue's bar for the predictive strategy, row by row."""
    beats = 0
    for row in rows:
        ours, _ = results[(row.name, "predictive")]
        notes: list[str] = []
        checks = [
            ("abandon ≤ target", ours.abandon_rate <= row.scenario.abandon_target),
            ("worst hour < 5%", ours.max_hourly_abandon_rate < 0.05),
        ]
        if (row.name, "progressive") in results:
            progressive, _ = results[(row.name, "progressive")]
            if row.scenario.slots >= 50 and row.scenario.answer_rate >= 0.15:
                checks.append(("occupancy ≥ 0.85", ours.occupancy >= 0.85))
                ratio = ours.occupancy / progressive.occupancy if progressive.occupancy else 0.0
                if 1.25 * progressive.occupancy <= 1.0:
                    checks.append((f"≥1.25× progressive ({ratio:.2f}×)", ratio >= 1.25))
                else:
                    notes.append(
                        f"1.25× progressive's {progressive.occupancy:.3f} is over 1.0:"
                        f" unreachable ({ratio:.2f}×)"
                    )
        if (row.name, "vicidial") in results:
            vici, _ = results[(row.name, "vicidial")]
            better = ours.occupancy > vici.occupancy and ours.abandon_rate <= vici.abandon_rate
            beats += better
        failed = [name for name, ok in checks if not ok]
        verdict = "ok" if not failed else "MISSED: " + ", ".join(failed)
        yield f"{row.name:34} {'; '.join([verdict, *notes])}"
    if any((row.name, "vicidial") in results for row in rows):
        yield f"predictive beats vicidial on occupancy and abandon in {beats}/{len(rows)} rows"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", action="store_true", help="one scenario, two simulated hours")
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    args = parser.parse_args(argv)
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]

    if args.demo:
        rows = [Row("100 slots, 25% answer, 120 s talk", Scenario(hours=2.0, seed=args.seed))]
        print("Simulating 2 hours of a 100-slot fleet with each pacing strategy…", file=sys.stderr)
    else:
        rows = grid(args.hours, args.seed)
        print(
            f"Simulating {len(rows)} scenarios × {len(strategies)} strategies, {args.hours:g} h"
            f" each, on {args.workers} processes…",
            file=sys.stderr,
        )
    results = run_all(rows, strategies, args.workers)
    for line in table(rows, strategies, results):
        print(line)
    if "predictive" in strategies:
        for line in verdicts(rows, results):
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
