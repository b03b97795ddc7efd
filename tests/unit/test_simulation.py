from __future__ import annotations

import pytest

from voxcore_domain.errors import ValidationError
from voxcore_domain.simulation import CampaignSpec, Scenario, simulate

SHORT = Scenario(slots=20, answer_rate=0.3, hours=0.5, seed=3)


def test_a_seed_gives_the_same_run_twice() -> None:
    assert simulate(SHORT, "predictive") == simulate(SHORT, "predictive")


def test_another_seed_gives_another_run() -> None:
    other = Scenario(slots=20, answer_rate=0.3, hours=0.5, seed=4)
    assert simulate(SHORT, "predictive").dials != simulate(other, "predictive").dials


@pytest.mark.parametrize(
    "strategy", ["preview", "progressive", "ratio:3", "vicidial", "predictive"]
)
def test_every_strategy_runs_and_the_books_balance(strategy: str) -> None:
    report = simulate(SHORT, strategy)
    assert report.strategy == strategy
    assert 0.0 <= report.occupancy <= 1.0
    assert report.abandoned <= report.live_answers <= report.dials
    assert report.abandon_rate == (
        report.abandoned / report.live_answers if report.live_answers else 0
    )
    assert sum(m.dials for m in report.timeline) == report.dials
    assert sum(m.abandoned for m in report.timeline) == report.abandoned
    assert len(report.timeline) == 30
    (only,) = report.per_campaign.values()
    assert (only.dials, only.abandoned) == (report.dials, report.abandoned)


def test_preview_places_no_automatic_dials() -> None:
    report = simulate(SHORT, "preview")
    assert (report.dials, report.occupancy) == (0, 0.0)


def test_progressive_never_abandons_while_capacity_holds() -> None:
    report = simulate(Scenario(slots=30, hours=1.0, seed=5), "progressive")
    assert report.dials > 0
    assert report.abandoned == 0


def test_heavy_overdialling_abandons_and_predictive_does_not() -> None:
    scenario = Scenario(slots=50, hours=1.0, seed=6)
    reckless = simulate(scenario, "ratio:8")
    ours = simulate(scenario, "predictive")
    assert reckless.abandon_rate > scenario.abandon_target
    assert ours.abandon_rate < scenario.abandon_target
    assert ours.occupancy > simulate(scenario, "progressive").occupancy


def test_machines_that_reach_a_worker_are_not_live_answers() -> None:
    report = simulate(Scenario(slots=20, machine_rate=0.2, hours=0.5, seed=8), "progressive")
    assert report.machine_answers > 0
    assert report.live_answers < report.dials * 0.35


def test_a_capacity_drop_shows_in_the_timeline() -> None:
    scenario = Scenario(slots=40, slot_schedule=((0.5, 10),), hours=1.0, seed=9)
    report = simulate(scenario, "predictive")
    assert report.timeline[10].slots == 40
    assert report.timeline[-1].slots == 10
    assert max(m.busy for m in report.timeline[45:]) <= 10.0 + 1e-9


def test_weights_share_the_slots() -> None:
    scenario = Scenario(
        slots=60,
        hours=1.0,
        seed=10,
        campaigns=(CampaignSpec("big", weight=2.0), CampaignSpec("small", weight=1.0)),
    )
    report = simulate(scenario, "predictive")
    big, small = report.per_campaign["big"], report.per_campaign["small"]
    assert 1.6 < big.occupancy / small.occupancy < 2.5
    assert report.dials == big.dials + small.dials


def test_a_campaign_cap_holds() -> None:
    scenario = Scenario(
        slots=40,
        hours=0.5,
        seed=11,
        campaigns=(CampaignSpec("capped", max_concurrency=5), CampaignSpec("open")),
    )
    report = simulate(scenario, "progressive")
    assert report.per_campaign["capped"].occupancy <= 5 / 40 + 1e-9
    assert report.per_campaign["open"].occupancy > 0.3


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"answer_rate": 1.5}, "answer_rate"),
        ({"answer_rate": 0.6, "machine_rate": 0.6}, "machine_rate"),
        ({"slots": -1}, "slots"),
        ({"slot_schedule": ((2, 10), (1, 20))}, "slot_schedule"),
        ({"campaigns": (CampaignSpec("a"), CampaignSpec("a"))}, "campaigns"),
    ],
)
def test_bad_scenarios_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        Scenario(**kwargs)  # type: ignore[arg-type]
    assert error.value.field == field


def test_an_unknown_strategy_is_refused() -> None:
    with pytest.raises(ValidationError, match="pacing_mode"):
        simulate(SHORT, "psychic")
