from __future__ import annotations

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from voxcore_domain.dialplan import CampaignLoad, PlanMemory, plan_tick
from voxcore_domain.estimators import CampaignStats
from voxcore_domain.fairshare import Group
from voxcore_domain.model import Disposition, PacingMode

T0 = 1_767_600_000.0
STATS = CampaignStats().snapshot(T0)


def load(
    key: str,
    mode: str = "progressive",
    busy: int = 0,
    ringing: int = 0,
    tenant: str = "t1",
    **kwargs: object,
) -> CampaignLoad:
    return CampaignLoad(
        campaign_id=key,
        tenant_id=tenant,
        mode=PacingMode.parse(mode),
        stats=STATS,
        busy_elapsed=(30.0,) * busy,
        ringing_elapsed=(2.0,) * ringing,
        **kwargs,  # type: ignore[arg-type]
    )


def test_slots_follow_the_weights() -> None:
    plan = plan_tick(T0, 30, [load("a", weight=2.0), load("b", weight=1.0)])
    assert plan.slots == {"a": 20, "b": 10}
    assert plan.dials == {"a": 20, "b": 10}


def test_tenants_are_split_before_their_campaigns() -> None:
    campaigns = [load("a1", tenant="A"), load("a2", tenant="A"), load("b1", tenant="B")]
    plan = plan_tick(T0, 40, campaigns, tenants={"A": Group("A"), "B": Group("B")})
    assert plan.slots == {"a1": 10, "a2": 10, "b1": 20}


def test_a_capped_campaign_leaves_its_surplus_to_the_others() -> None:
    plan = plan_tick(T0, 30, [load("a", max_concurrency=5), load("b")])
    assert plan.slots == {"a": 5, "b": 25}


def test_a_campaign_running_out_of_contacts_dials_only_what_it_has() -> None:
    plan = plan_tick(T0, 30, [load("a", available=3), load("b")])
    assert plan.dials["a"] == 3
    assert plan.dials["b"] == 27


def test_a_predictive_campaign_out_of_contacts_is_not_paced_but_keeps_learning() -> None:
    stats = CampaignStats()
    for n in range(200):  # an hour with a 10 % abandon rate: the feedback lowers the allowance
        stats.dial_resolved(True, 5.0, T0 - 3000.0 + n)
        disposition = Disposition.ABANDONED if n % 10 == 0 else Disposition.COMPLETED
        stats.call_ended(disposition, 60.0, T0 - 2900.0 + n)
    snapshot = stats.snapshot(T0)
    plenty = CampaignLoad("a", "t1", PacingMode.parse("predictive"), snapshot, (30.0,), ())
    out = attrs.evolve(plenty, available=0)
    memory = PlanMemory()
    dry = plan_tick(T0, 10, [out], memory=memory).decisions["a"]
    full = plan_tick(T0, 10, [plenty], memory=memory).decisions["a"]
    assert full.dials > 0
    assert full.risk > 0.0
    assert (dry.dials, dry.risk) == (0, 0.0)
    assert dry.allowance == full.allowance
    assert dry.memory == full.memory
    assert dry.memory.correction < 1.0


def test_the_dial_budget_caps_the_tick_and_is_shared_fairly() -> None:
    plan = plan_tick(T0, 100, [load("a"), load("b")], dial_budget=10)
    assert plan.dials == {"a": 5, "b": 5}


def test_a_campaign_over_its_share_does_not_make_the_others_dial_for_slots_in_use() -> None:
    # "a" holds 25 slots of a 30-slot pool through answers that came in together; "b" holds 0.
    # Of b's 15-slot share only 5 slots are really free.
    plan = plan_tick(T0, 30, [load("a", busy=25), load("b")])
    assert plan.dials == {"a": 0, "b": 5}


def test_memory_carries_the_rounding_so_a_small_share_is_not_starved() -> None:
    campaigns = [load("big", weight=9.0), load("small", weight=1.0)]
    memory = PlanMemory()
    small_slots = []
    for i in range(20):
        plan = plan_tick(T0 + 2 * i, 5, campaigns, memory=memory)
        memory = plan.memory
        small_slots.append(plan.slots["small"])
    assert sum(small_slots) >= 9  # 0.5 a tick on average


@given(
    pool=st.integers(0, 200),
    busy=st.lists(st.integers(0, 60), min_size=1, max_size=4),
    budget=st.none() | st.integers(0, 100),
)
@settings(max_examples=100, deadline=None)
def test_progressive_never_dials_for_more_slots_than_are_free(
    pool: int, busy: list[int], budget: int | None
) -> None:
    campaigns = [load(f"c{i}", busy=b) for i, b in enumerate(busy)]
    plan = plan_tick(T0, pool, campaigns, dial_budget=budget)
    assert sum(plan.dials.values()) <= max(0, pool - sum(busy))
    if budget is not None:
        assert sum(plan.dials.values()) <= budget
    assert all(n >= 0 for n in plan.dials.values())


def test_the_pacer_memories_carry_over_as_a_plain_mapping_of_them_would() -> None:
    """A tick keeps each pacer's memory as the memory it started from and the correction it
    learned (`PacerMemories`); read as a mapping, and carried into the next tick, it is what
    a plain dict of `PacerMemory` values would be."""
    stats = CampaignStats()
    for n in range(200):  # an hour with a 10 % abandon rate: the feedback moves every tick
        stats.dial_resolved(True, 5.0, T0 - 3000.0 + n)
        disposition = Disposition.ABANDONED if n % 10 == 0 else Disposition.COMPLETED
        stats.call_ended(disposition, 60.0, T0 - 2900.0 + n)
    snapshot = stats.snapshot(T0)
    campaigns = [
        CampaignLoad("a", "t1", PacingMode.parse("predictive"), snapshot, (30.0,), (3.0,)),
        CampaignLoad("b", "t1", PacingMode.parse("vicidial"), snapshot, (30.0,), ()),
        load("c", busy=2, ringing=1),
    ]
    first = plan_tick(T0, 30, campaigns)
    pacers = first.memory.pacers
    assert dict(pacers) == {key: d.memory for key, d in first.decisions.items()}
    assert pacers["a"].correction < 1.0
    plain = attrs.evolve(first.memory, pacers=dict(pacers))
    for tick in range(1, 4):
        carried = plan_tick(T0 + 2.0 * tick, 30, campaigns, memory=first.memory)
        again = plan_tick(T0 + 2.0 * tick, 30, campaigns, memory=plain)
        assert carried.dials == again.dials
        assert dict(carried.decisions) == dict(again.decisions)
        assert dict(carried.memory.pacers) == dict(again.memory.pacers)
        assert carried.memory.pacers["a"].correction < pacers["a"].correction
        first, plain = carried, attrs.evolve(carried.memory, pacers=dict(carried.memory.pacers))
        pacers = carried.memory.pacers
