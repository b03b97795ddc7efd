# %% [markdown]
# # Pacing strategies, side by side
#
# A notebook user's view of the domain library: build a scenario, run two strategies on it
# with the same simulator the benchmarks use (and the same pacing code the dialler runs), and
# plot occupancy and the abandon rate over time. Run it as a script
# (`make notebook`, figures into `build/notebook/`) or cell by cell in Jupyter/VS Code.

# %%
from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files, not windows: this also runs in the test suite
import matplotlib.pyplot as plt

from voxcore_domain.simulation import Scenario, SimulationReport, simulate


def rolling_abandon_rate(report: SimulationReport, window_minutes: int = 60) -> list[float]:
    """Abandoned / live answers over the trailing window, minute by minute."""
    rates = []
    for i in range(len(report.timeline)):
        recent = report.timeline[max(0, i - window_minutes + 1) : i + 1]
        answers = sum(m.live_answers for m in recent)
        rates.append(sum(m.abandoned for m in recent) / answers if answers else 0.0)
    return rates


def plot(reports: list[SimulationReport], target: float, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    figures = []

    fig, ax = plt.subplots(figsize=(9, 4))
    for report in reports:
        minutes = [m.minute / 60 for m in report.timeline]
        ax.plot(minutes, [m.occupancy for m in report.timeline], label=report.strategy)
    ax.set(xlabel="hour", ylabel="slot occupancy", ylim=(0, 1.05), title="Occupancy per minute")
    ax.legend()
    figures.append(out / "occupancy.png")
    fig.savefig(figures[-1], dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9, 4))
    for report in reports:
        minutes = [m.minute / 60 for m in report.timeline]
        ax.plot(minutes, rolling_abandon_rate(report), label=report.strategy)
    ax.axhline(target, color="red", linestyle="--", label=f"target {target:.0%}")
    ax.set(xlabel="hour", ylabel="abandon rate, last 60 min", title="Abandon rate")
    ax.legend()
    figures.append(out / "abandon.png")
    fig.savefig(figures[-1], dpi=100)
    plt.close(fig)
    return figures


# %%
def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description="Two pacing strategies on one scenario.")
    parser.add_argument("--out", type=Path, default=Path("build/notebook"))
    parser.add_argument("--hours", type=float, default=4.0)
    parser.add_argument("--slots", type=int, default=100)
    args = parser.parse_args(argv)

    scenario = Scenario(slots=args.slots, answer_rate=0.25, hours=args.hours, seed=7)
    reports = [simulate(scenario, strategy) for strategy in ("progressive", "predictive")]
    for r in reports:
        print(
            f"{r.strategy:12} occupancy {r.occupancy:.3f}  abandon {r.abandon_rate:.2%}"
            f"  worst hour {r.max_hourly_abandon_rate:.2%}  dials {r.dials}"
        )
    figures = plot(reports, scenario.abandon_target, args.out)
    for path in figures:
        print(f"wrote {path}")
    return figures


if __name__ == "__main__":
    main()
