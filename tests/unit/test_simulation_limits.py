"""The simulator keeps to trunk limits and tenant weights the way the dialler's planner does."""

from __future__ import annotations

import pytest

from voxcore_domain.errors import ValidationError
from voxcore_domain.simulation import CampaignSpec, Scenario, TenantSpec, TrunkSpec, simulate


def test_a_cps_limited_run_dials_no_faster_than_the_limit() -> None:
    minutes = 15
    scenario = Scenario(
        slots=1000,
        answer_rate=0.25,
        hours=minutes / 60,
        seed=3,
        trunks=(TrunkSpec("slow", cps=2.0),),
        campaigns=(CampaignSpec("a", trunk="slow"), CampaignSpec("b", trunk="slow")),
    )
    report = simulate(scenario, "progressive")
    limit = 2.0 * minutes * 60
    # 1000 slots would take far more: the trunk is what holds the run back, and it is used.
    assert 0.95 * limit <= report.dials <= limit + 1
    assert all(m.dials <= 2.0 * 60 + 4 for m in report.timeline)
    unlimited = simulate(attrs_without_trunks(scenario), "progressive")
    assert unlimited.dials > 2 * report.dials


def attrs_without_trunks(scenario: Scenario) -> Scenario:
    return Scenario(
        slots=scenario.slots,
        answer_rate=scenario.answer_rate,
        hours=scenario.hours,
        seed=scenario.seed,
        campaigns=(CampaignSpec("a"), CampaignSpec("b")),
    )


def test_a_trunk_channel_limit_caps_the_calls_at_once() -> None:
    scenario = Scenario(
        slots=200,
        answer_rate=0.5,
        mean_talk_s=60.0,
        hours=0.5,
        seed=2,
        trunks=(TrunkSpec("small", cps=50.0, channels=20),),
        campaigns=(CampaignSpec("a", trunk="small"),),
    )
    report = simulate(scenario, "progressive")
    assert report.dials > 0
    assert all(m.busy <= 20 for m in report.timeline)


def test_tenant_weights_share_the_slots() -> None:
    scenario = Scenario(
        slots=40,
        hours=0.5,
        seed=4,
        tenants=(TenantSpec("A", weight=3.0), TenantSpec("B", weight=1.0)),
        campaigns=(CampaignSpec("a", tenant="A"), CampaignSpec("b", tenant="B")),
    )
    report = simulate(scenario, "progressive")
    ratio = report.per_campaign["a"].occupancy / report.per_campaign["b"].occupancy
    assert 2.5 < ratio < 3.5


def test_a_tenant_cap_holds() -> None:
    scenario = Scenario(
        slots=100,
        hours=0.5,
        seed=5,
        tenants=(TenantSpec("A", max_concurrency=10),),
        campaigns=(CampaignSpec("a1", tenant="A"), CampaignSpec("a2", tenant="A")),
    )
    report = simulate(scenario, "progressive")
    assert all(m.busy <= 10 for m in report.timeline)


def test_a_campaign_naming_an_unknown_trunk_is_refused() -> None:
    with pytest.raises(ValidationError) as error:
        Scenario(campaigns=(CampaignSpec("a", trunk="nope"),))
    assert error.value.field == "campaigns"
