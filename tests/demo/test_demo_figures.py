"""The demo's figures and what it shows: counts from the API's campaign stats, slots from its
fleet view, outcomes from its call list, live and simulated rates, the Console's URL and the
tenant's key."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from voxcore_adapters.fakes.redis_fakes import InMemorySlotRegistry
from voxcore_adapters.s3 import S3Connection
from voxcore_adapters.sim import CalleeMedia, MediaTarget
from voxcore_demo.config import DemoConfig
from voxcore_demo.observe import CampaignFigures, Sample, fleet_slots, outcomes
from voxcore_demo.report import measured, predicted
from voxcore_demo.run import access
from voxcore_demo.seed import Seeded, contacts
from voxcore_demo.stack import Endpoints
from voxcore_domain.model import Slot, SlotState
from voxcore_domain.simulation import simulate

T = datetime(2026, 1, 1, tzinfo=UTC)


def window(dials: int, ended: int, live: int, machine: int, abandoned: int) -> dict[str, object]:
    return {
        "dials": dials,
        "ended": ended,
        "live_answers": live,
        "machine_answers": machine,
        "abandoned": abandoned,
    }


def test_campaign_figures_are_the_stats_apis_30_day_window_and_busy_slots() -> None:
    stats = {
        "last_hour": window(1, 1, 0, 0, 0),
        "today": window(2, 2, 1, 0, 0),
        "last_30_days": window(9, 7, 4, 1, 1),
        "busy_slots": 2,
        "fleet_slots": 8,
    }
    figures = CampaignFigures.of(stats)
    assert figures == CampaignFigures(
        dials=9, ended=7, live_answers=4, machine_answers=1, abandoned=1, busy=2
    )
    assert figures.answered == 5


def test_fleet_slots_count_idle_and_busy_but_not_draining() -> None:
    view = {
        "hosts": [
            {"host": "a", "idle": 2, "busy": 3, "draining": 1, "slots": []},
            {"host": "b", "idle": 0, "busy": 1, "draining": 0, "slots": []},
        ]
    }
    assert fleet_slots(view) == (6, 4)


def test_outcomes_from_the_call_list() -> None:
    calls: list[dict[str, object]] = [
        {"id": "1", "disposition": "completed", "attached_at": "2026-01-01T00:00:00Z"},
        {"id": "2", "disposition": "no_answer", "attached_at": None},
        {"id": "3", "disposition": None, "attached_at": "2026-01-01T00:00:00Z"},
        {"id": "4", "disposition": "no_answer", "attached_at": None},
    ]
    assert outcomes(calls) == ({"completed": 1, "no_answer": 2}, 2)


def test_live_rates_from_samples() -> None:
    figures = {
        "a": CampaignFigures(
            dials=20, ended=16, live_answers=5, machine_answers=3, abandoned=1, busy=2
        )
    }
    samples = [
        Sample(elapsed_s=60.0, slots=4, busy=2, campaigns=figures),
        Sample(elapsed_s=120.0, slots=4, busy=2, campaigns=figures),
    ]
    rates = measured(samples, {"a": "Renewals"})
    assert rates["Renewals"].dials_per_min == pytest.approx(10.0)
    assert rates["Renewals"].answer_share == pytest.approx(0.5)
    assert rates["Renewals"].abandon_rate == pytest.approx(0.2)
    assert rates["Renewals"].occupancy == pytest.approx(0.5)
    assert rates["*"].occupancy == pytest.approx(0.5)
    assert rates["*"].answer_share == pytest.approx(0.5)


def test_simulated_rates_cover_each_campaign_and_the_whole() -> None:
    config = DemoConfig(minutes=5.0, workers=4)
    rates = predicted(simulate(config.scenario(), config.mode), config.minutes)
    assert set(rates) == {"Renewals", "Survey", "*"}
    assert rates["*"].dials_per_min > 0
    assert 0 < rates["*"].occupancy <= 1


def test_contacts_are_unique_e164_numbers_across_time_zones() -> None:
    rows = contacts(DemoConfig(), 1, 500)
    phones = [str(row["phone"]) for row in rows]
    assert len(set(phones)) == 500
    assert all(p.startswith("+") and p[1:].isdigit() and len(p) <= 16 for p in phones)
    assert len({row["timezone"] for row in rows}) == 7


class Clock:
    def now(self) -> datetime:
        return T


async def test_the_carrier_finds_the_worker_that_reports_the_call() -> None:
    registry = InMemorySlotRegistry(Clock())
    media = CalleeMedia(registry, MediaTarget("unix:/tmp/{worker}.sock"), wait_s=2.0)
    await registry.heartbeat(Slot("h", "w1", SlotState.IDLE, T), timedelta(seconds=10))

    async def attach_later() -> None:
        await asyncio.sleep(0.2)
        await registry.heartbeat(Slot("h", "w2", SlotState.BUSY, T, "c-9", T), timedelta(10))

    found, _ = await asyncio.gather(media.locate("c-9"), attach_later())
    assert found is not None
    assert found.worker == "w2"


async def test_no_worker_taking_the_call_ends_the_wait() -> None:
    media = CalleeMedia(
        InMemorySlotRegistry(Clock()), MediaTarget("http://127.0.0.1:1/{worker}"), wait_s=0.3
    )
    assert await media.locate("c-1") is None


def access_lines(terminal: bool) -> str:
    endpoints = Endpoints(
        mongo_url="mongodb://127.0.0.1:1/voxbridge",
        redis_url="redis://127.0.0.1:2/0",
        s3=S3Connection("http://127.0.0.1:3", "access", "secret"),
        api_url="http://127.0.0.1:4",
        dialler_url="http://127.0.0.1:5",
        sockets=(),
        admin_key="a" * 32,
        internal_token="i" * 32,
    )
    seeded = Seeded("t", "a", "tr", {"Renewals": "c"}, {"c": 1}, api_key="k-secret-of-this-run")
    console = Console(file=io.StringIO(), force_terminal=terminal)
    return "\n".join(access(endpoints, seeded, console))


def test_the_console_url_and_the_api_key_are_shown_on_a_terminal_only() -> None:
    shown = access_lines(terminal=True)
    assert "Console http://127.0.0.1:4/console/" in shown
    assert "k-secret-of-this-run" in shown
    kept = access_lines(terminal=False)
    assert "Console http://127.0.0.1:4/console/" in kept
    assert "k-secret-of-this-run" not in kept
