"""The live figures beside the simulator's, as a terminal table while the demo runs, and as a
summary (JSON and table) and a chart (PNG) at its end.

Figures are compared as rates (dials a minute, answer share, abandon rate, occupancy), so a
run can be read against the prediction at any moment, not only at its end.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs
from rich.console import Group
from rich.table import Table
from rich.text import Text

from voxcore_demo.config import DemoConfig
from voxcore_demo.observe import Sample
from voxcore_domain.simulation import SimulationReport


@attrs.frozen
class Rates:
    dials_per_min: float
    answer_share: float
    """Answered (person or machine) / dials whose outcome is known (all of them, for the
    simulator's whole run)."""
    abandon_rate: float
    """Abandoned / live answers (abandoned calls count as live answers): the regulators' rate,
    as the stats API and the simulator both count it."""
    occupancy: float
    """Busy slot-time / slot-time."""


def _share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def predicted(report: SimulationReport, minutes: float) -> dict[str, Rates]:
    """The simulator's rates per campaign name, and `*` for the whole run."""
    rates = {
        name: Rates(
            dials_per_min=_share(f.dials, minutes),
            answer_share=_share(f.live_answers + f.machine_answers, f.dials),
            abandon_rate=f.abandon_rate,
            occupancy=f.occupancy,
        )
        for name, f in report.per_campaign.items()
    }
    rates["*"] = Rates(
        dials_per_min=_share(report.dials, minutes),
        answer_share=_share(report.live_answers + report.machine_answers, report.dials),
        abandon_rate=report.abandon_rate,
        occupancy=report.occupancy,
    )
    return rates


def measured(samples: Sequence[Sample], names: Mapping[str, str]) -> dict[str, Rates]:
    """The live rates per campaign name (`names`: id → name) and `*`, from the samples."""
    if not samples:
        return {}
    last = samples[-1]
    # Rates over the first seconds would be mostly noise: ten seconds at least.
    minutes = max(last.elapsed_s, 10.0) / 60.0
    slot_time = sum(s.slots for s in samples)
    rates: dict[str, Rates] = {}
    for campaign_id, name in names.items():
        figures = last.campaigns.get(campaign_id)
        if figures is None:
            continue
        busy = sum(s.campaigns[campaign_id].busy for s in samples if campaign_id in s.campaigns)
        rates[name] = Rates(
            dials_per_min=figures.dials / minutes,
            answer_share=_share(figures.answered, figures.ended),
            abandon_rate=_share(figures.abandoned, figures.live_answers),
            occupancy=_share(busy, slot_time),
        )
    every = last.campaigns.values()
    rates["*"] = Rates(
        dials_per_min=last.dials / minutes,
        answer_share=_share(sum(c.answered for c in every), sum(c.ended for c in every)),
        abandon_rate=_share(last.abandoned, last.live_answers),
        occupancy=_share(sum(s.busy for s in samples), slot_time),
    )
    return rates


def _pair(live: float | None, sim: float | None, percent: bool) -> str:
    def show(value: float | None) -> str:
        if value is None:
            return "–"
        return f"{value:.0%}" if percent else f"{value:.1f}"

    return f"{show(live)} · {show(sim)}"


def table(
    samples: Sequence[Sample],
    names: Mapping[str, str],
    prediction: Mapping[str, Rates],
    title: str,
) -> Table:
    """Per campaign: live · simulated rates, and the counts so far."""
    live = measured(samples, names)
    last = samples[-1] if samples else None
    grid = Table(title=title, title_justify="left")
    for column in ("campaign", "dials/min", "answered", "abandoned", "occupancy"):
        grid.add_column(f"{column}\nlive · sim" if column != "campaign" else column)
    for column in ("dials", "live answers", "abandons", "busy now"):
        grid.add_column(column, justify="right")
    for campaign_id, name in [*names.items(), ("*", "all")]:
        key = name if campaign_id != "*" else "*"
        rates, sim = live.get(key), prediction.get(key)
        if last is None:
            counts = ["0", "0", "0", "0"]
        elif campaign_id == "*":
            counts = [
                str(last.dials),
                str(last.live_answers),
                str(last.abandoned),
                f"{last.busy}/{last.slots}",
            ]
        else:
            f = last.campaigns.get(campaign_id)
            counts = (
                [str(f.dials), str(f.live_answers), str(f.abandoned), str(f.busy)]
                if f
                else ["0"] * 4
            )
        grid.add_row(
            name,
            _pair(
                rates.dials_per_min if rates else None, sim.dials_per_min if sim else None, False
            ),
            _pair(rates.answer_share if rates else None, sim.answer_share if sim else None, True),
            _pair(rates.abandon_rate if rates else None, sim.abandon_rate if sim else None, True),
            _pair(rates.occupancy if rates else None, sim.occupancy if sim else None, True),
            *counts,
        )
    return grid


def screen(
    samples: Sequence[Sample],
    names: Mapping[str, str],
    prediction: Mapping[str, Rates],
    header: Sequence[str],
    recordings: int,
) -> Group:
    return Group(
        Text("\n".join(header)),
        table(samples, names, prediction, "Live platform · simulator (same settings)"),
        calls_line(samples[-1] if samples else None, recordings),
    )


def calls_line(last: Sample | None, recordings: int) -> Text:
    """The call log's outcomes so far, the calls the workers took, the recordings stored."""
    ended = ", ".join(f"{k} {v}" for k, v in sorted(last.outcomes.items())) if last else ""
    return Text(
        f"call log (GET /v1/calls): {ended or 'no call ended yet'}; "
        f"calls the workers took: {last.ran if last else 0}; recordings in S3: {recordings}"
    )


def write_summary(
    path: Path,
    config: DemoConfig,
    samples: Sequence[Sample],
    names: Mapping[str, str],
    prediction: Mapping[str, Rates],
    recordings: int,
) -> dict[str, object]:
    live = measured(samples, names)
    last = samples[-1] if samples else None
    summary: dict[str, object] = {
        "minutes": config.minutes,
        "workers": config.workers,
        "seed": config.seed,
        "live": {k: attrs.asdict(v) for k, v in live.items()},
        "simulated": {k: attrs.asdict(v) for k, v in prediction.items()},
        "counts": {
            names.get(campaign_id, campaign_id): attrs.asdict(figures)
            for campaign_id, figures in (last.campaigns.items() if last else ())
        },
        "outcomes": dict(last.outcomes) if last else {},
        "ran": last.ran if last else 0,
        "recordings": recordings,
    }
    path.write_text(json.dumps(summary, indent=2, sort_keys=True))
    return summary


def chart(
    path: Path, samples: Sequence[Sample], report: SimulationReport, config: DemoConfig
) -> None:
    """Occupancy and abandon rate over time, live against simulated, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    minutes = [s.elapsed_s / 60 for s in samples]
    top.plot(minutes, [_share(s.busy, s.slots) for s in samples], label="live (busy / slots)")
    sim_minutes = [m.minute + 1 for m in report.timeline]
    top.plot(sim_minutes, [m.occupancy for m in report.timeline], "o--", label="simulated")
    top.set_ylabel("occupancy")
    top.set_ylim(0, 1.05)
    top.legend(loc="lower right")
    bottom.plot(
        minutes, [_share(s.abandoned, s.live_answers) for s in samples], label="live (cumulative)"
    )
    answers = abandons = 0
    cumulative = []
    for m in report.timeline:
        answers += m.live_answers
        abandons += m.abandoned
        cumulative.append(_share(abandons, answers))
    bottom.plot(sim_minutes, cumulative, "o--", label="simulated (cumulative)")
    bottom.axhline(config.abandon_target, color="grey", linestyle=":", label="target")
    bottom.set_ylabel("abandon rate")
    bottom.set_xlabel("minutes")
    bottom.legend(loc="upper right")
    figure.suptitle(f"vox demo: {config.workers} slots, {config.mode}")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
