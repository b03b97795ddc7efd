"""The demo's figures: counts from call-attempt documents, ended calls from a worker's metrics,
live and simulated rates."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from voxcore_adapters.fakes.redis_fakes import InMemorySlotRegistry
from voxcore_adapters.sim import CalleeMedia, MediaTarget
from voxcore_demo.config import DemoConfig
from voxcore_demo.observe import CampaignFigures, Sample, campaign_figures, ended_calls
from voxcore_demo.report import measured, predicted
from voxcore_demo.seed import contacts
from voxcore_domain.model import Slot, SlotState
from voxcore_domain.simulation import simulate

T = datetime(2026, 1, 1, tzinfo=UTC)


def test_campaign_counts_from_the_call_log() -> None:
    attempts: list[dict[str, object]] = [
        {"_id": "1", "campaign_id": "a", "answered_at": T, "attached_at": T},
        {"_id": "2", "campaign_id": "a", "answered_at": T, "disposition": "abandoned"},
        {"_id": "3", "campaign_id": "a", "disposition": "no_answer"},
        {"_id": "4", "campaign_id": "b", "answered_at": None},
    ]
    assert campaign_figures(attempts, busy_calls={"1"}) == {
        "a": CampaignFigures(dials=3, answered=2, attached=1, abandoned=1, busy=1),
        "b": CampaignFigures(dials=1),
    }


def test_ended_calls_from_a_workers_metrics() -> None:
    text = (
        "# HELP vox_fleet_calls_total Calls\n"
        'vox_fleet_calls_total{disposition="completed"} 3.0\n'
        'vox_fleet_calls_created{disposition="completed"} 1.7e+09\n'
        'vox_fleet_calls_total{disposition="voicemail"} 1.0\n'
    )
    assert ended_calls(text) == {"completed": 3, "voicemail": 1}


def test_live_rates_from_samples() -> None:
    figures = {"a": CampaignFigures(dials=20, answered=5, attached=4, abandoned=1, busy=2)}
    samples = [
        Sample(elapsed_s=60.0, slots=4, busy=2, campaigns=figures, ended={}),
        Sample(elapsed_s=120.0, slots=4, busy=2, campaigns=figures, ended={}),
    ]
    rates = measured(samples, {"a": "Renewals"})
    assert rates["Renewals"].dials_per_min == pytest.approx(10.0)
    assert rates["Renewals"].answer_share == pytest.approx(0.25)
    assert rates["Renewals"].abandon_rate == pytest.approx(0.2)
    assert rates["*"].occupancy == pytest.approx(0.5)


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
