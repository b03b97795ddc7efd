"""One demo run: start the platform, seed it through the API, let the dialler dial the simulated
carrier for the set time while the live view compares it with the simulator, then stop the
dialler, let the calls end, write the summary, the chart and the call log, and stop the rest."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import attrs
from rich.console import Console
from rich.live import Live

from voxcore_demo import report
from voxcore_demo.config import DemoConfig
from voxcore_demo.observe import Observer, Sample
from voxcore_demo.seed import Seeded, seed
from voxcore_demo.stack import BUCKET, Endpoints, Stack
from voxcore_domain.simulation import simulate


@attrs.frozen
class Outcome:
    """What a run left behind."""

    run_dir: Path
    summary: dict[str, object]
    leftovers: list[str]
    """Processes, ports or sockets still there after the stop: empty when all went well."""


Inspect = Callable[[Endpoints, Seeded, Observer], None]
"""Called with the platform still up, after the calls have ended (the smoke test looks there)."""


async def run(
    config: DemoConfig, out: Path, console: Console, inspect: Inspect | None = None
) -> Outcome:
    run_dir = out / datetime.now(UTC).strftime("run-%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    stack = Stack(config, run_dir)
    fleet = f"{config.workers} fleet workers" + (
        f" behind nginx ({stack.nginx})" if stack.nginx else " (no nginx: sockets reached directly)"
    )
    console.print(
        f"demo: starting MongoDB (SecantusDB), Valkey, S3, the API and {fleet}; "
        f"logs in {stack.logs}"
    )
    try:
        return await _run(config, stack, run_dir, console, inspect)
    finally:
        # Also on Ctrl-C: the stack has been stopped on the way out; say if anything is left.
        leftovers = stack.leftovers()
        if leftovers:
            console.print(f"demo: still running after the stop: {', '.join(leftovers)}")


async def _run(
    config: DemoConfig, stack: Stack, run_dir: Path, console: Console, inspect: Inspect | None
) -> Outcome:
    with stack:
        endpoints = stack.endpoints
        assert endpoints is not None
        seeded = seed(endpoints.api_url, endpoints.admin_key, config)
        names = {campaign_id: name for name, campaign_id in seeded.campaigns.items()}
        prediction_report = simulate(config.scenario(), config.mode)
        prediction = report.predicted(prediction_report, config.minutes)
        header = [
            *access(endpoints, seeded, console),
            endpoints.fleet_mode(),
            f"{config.workers} workers · {len(seeded.campaigns)} campaigns · "
            f"{sum(seeded.contacts.values())} contacts · trunk {seeded.trunk_id}",
        ]
        dialler = stack.start_dialler()
        observer = Observer(
            endpoints.api_url, seeded.api_key, list(seeded.campaigns.values()), endpoints.s3, BUCKET
        )
        samples: list[Sample] = []
        recordings = 0
        try:
            deadline = time.monotonic() + config.minutes * 60
            with Live(console=console, refresh_per_second=2, transient=False) as live:
                while (left := deadline - time.monotonic()) > 0:
                    if len(samples) % 5 == 0:
                        # The whole call log and the bucket are longer reads: every 5 s.
                        await asyncio.to_thread(observer.calls)
                        recordings = len(await asyncio.to_thread(observer.recordings))
                    samples.append(await asyncio.to_thread(observer.sample))
                    clock = [f"{samples[-1].elapsed_s:5.0f} s, {left:4.0f} s left"]
                    live.update(
                        report.screen(samples, names, prediction, clock + header, recordings)
                    )
                    await asyncio.sleep(min(1.0, max(left, 0.0)))
            console.print("\ndemo: time is up; stopping the dialler, letting the calls end")
            stack.supervisor.stop([dialler])
            await _calls_ended(observer, timeout_s=30.0)
            calls = await asyncio.to_thread(observer.calls)
            samples.append(await asyncio.to_thread(observer.sample))
            recording_keys = await asyncio.to_thread(observer.recordings)
            (run_dir / "calls.jsonl").write_text(
                "".join(json.dumps(call, sort_keys=True) + "\n" for call in calls)
            )
            summary = report.write_summary(
                run_dir / "summary.json", config, samples, names, prediction, len(recording_keys)
            )
            report.chart(run_dir / "chart.png", samples, prediction_report, config)
            if inspect is not None:
                inspect(endpoints, seeded, observer)
        finally:
            observer.close()
    console.print(report.table(samples, names, prediction, "Summary: live · simulated"))
    console.print(report.calls_line(samples[-1], len(recording_keys)))
    console.print(f"demo: summary, chart, call log and logs in {run_dir}")
    return Outcome(run_dir, summary, stack.leftovers())


def access(endpoints: Endpoints, seeded: Seeded, console: Console) -> list[str]:
    """Where an operator looks while the demo runs: the Console and the API, and the demo
    tenant's API key to sign in with. The key is a secret made for this run: it is shown on a
    terminal only, never written where output is kept (a redirected stdout, a log)."""
    key = (
        seeded.api_key
        if console.is_terminal
        else "not shown (the output is not a terminal, the key would be kept in a file)"
    )
    return [
        f"Console {endpoints.console_url}  (while the demo runs; sign in with the API key below)",
        f"API {endpoints.api_url}  (docs: {endpoints.api_url}/schema/swagger)",
        "demo tenant's API key:",
        f"  {key}",
    ]


async def _calls_ended(observer: Observer, timeout_s: float) -> None:
    """Wait until no slot is busy and every campaign's stats hold no call in progress (the
    calls the dialler's stop hung up have ended, their recordings are stored and their ends
    reported to the call log), or `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        sample = await asyncio.to_thread(observer.sample)
        if sample.busy == 0 and all(c.busy == 0 for c in sample.campaigns.values()):
            return
        await asyncio.sleep(0.3)
