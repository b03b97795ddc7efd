"""Per-trunk limits in the planner: calls per second, channels, carrier back-off, breaker."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from voxcore_domain.dialplan import CampaignLoad, PlanMemory, plan_tick
from voxcore_domain.estimators import CampaignStats
from voxcore_domain.fairshare import Group
from voxcore_domain.model import PacingMode
from voxcore_domain.trunklimits import (
    BreakerPolicy,
    Circuit,
    TrunkLoad,
    TrunkState,
    carrier_failed,
    dial_budget,
)
from voxcore_domain.trunks import Trunk

T0 = 1_767_600_000.0
STATS = CampaignStats().snapshot(T0)
TICK = 2.0


def trunk(key: str = "tr1", cps: float = 5.0, channels: int | None = None) -> Trunk:
    return Trunk(key, "t1", key, f"ST_{key}", cps=cps, channels=channels)


def load(key: str, trunk_id: str | None = "tr1", tenant: str = "t1", **kw: object) -> CampaignLoad:
    return CampaignLoad(
        campaign_id=key,
        tenant_id=tenant,
        mode=PacingMode.parse("progressive"),
        stats=STATS,
        busy_elapsed=(),
        ringing_elapsed=(),
        trunk_id=trunk_id,
        **kw,  # type: ignore[arg-type]
    )


def reserve_all(state: TrunkState, t: Trunk, now: float, n: int) -> tuple[list[float], TrunkState]:
    starts = []
    for _ in range(n):
        start, state = state.reserve(t, now)
        starts.append(start)
    return starts, state


# -- examples ----------------------------------------------------------------------------------


def test_a_trunk_budget_is_its_cps_over_the_tick_shared_by_its_campaigns() -> None:
    plan = plan_tick(
        T0, 1000, [load("a"), load("b")], trunks={"tr1": TrunkLoad(trunk(cps=5.0))}, tick_s=TICK
    )
    assert plan.trunk_budgets == {"tr1": 10}
    assert plan.dials == {"a": 5, "b": 5}


def test_channels_in_use_leave_only_the_free_ones() -> None:
    trunks = {"tr1": TrunkLoad(trunk(cps=100.0, channels=12), in_use=9)}
    plan = plan_tick(T0, 1000, [load("a")], trunks=trunks)
    assert plan.dials == {"a": 3}


def test_each_trunk_limits_only_its_own_campaigns() -> None:
    trunks = {
        "slow": TrunkLoad(trunk("slow", cps=1.0)),
        "fast": TrunkLoad(trunk("fast", cps=50.0)),
    }
    campaigns = [load("a", "slow"), load("b", "fast"), load("c", "gone")]
    plan = plan_tick(T0, 300, campaigns, trunks=trunks)
    assert plan.dials == {"a": 2, "b": 100, "c": 0}


def test_tenant_weights_split_a_trunk_and_caps_hold_slots_not_dials() -> None:
    campaigns = [load("a", tenant="A"), load("b", tenant="B")]
    tenants = {"A": Group("A", weight=3.0), "B": Group("B", weight=1.0)}
    plan = plan_tick(T0, 1000, campaigns, tenants, trunks={"tr1": TrunkLoad(trunk(cps=4.0))})
    assert plan.dials == {"a": 6, "b": 2}
    capped = {"A": Group("A", cap=5), "B": Group("B")}
    plan = plan_tick(T0, 100, campaigns, capped)
    assert plan.slots["a"] == 5
    assert plan.slots["b"] == 95


def test_a_small_share_of_a_trunk_is_carried_not_starved() -> None:
    campaigns = [load("big", weight=9.0), load("small")]
    trunks = {"tr1": TrunkLoad(trunk(cps=0.5))}  # one dial a tick
    memory = PlanMemory()
    small = 0
    for i in range(20):
        plan = plan_tick(T0 + TICK * i, 100, campaigns, trunks=trunks, memory=memory)
        memory = plan.memory
        small += plan.dials["small"]
    assert small == 2


def test_the_pause_stops_every_dial_and_keeps_the_fair_share_memory() -> None:
    memory = PlanMemory(dial_deficits={"a": 0.5})
    plan = plan_tick(T0, 100, [load("a"), load("b")], memory=memory, paused=True)
    assert plan.paused
    assert plan.dials == {"a": 0, "b": 0}
    assert plan.memory.dial_deficits == {"a": 0.5}
    assert plan.slots == {"a": 50, "b": 50}


def test_dials_of_one_tick_start_one_over_cps_apart() -> None:
    starts, _ = reserve_all(TrunkState(), trunk(cps=4.0), T0, 8)
    assert starts == [T0 + i * 0.25 for i in range(8)]


def test_only_5xx_counts_as_a_carrier_failure() -> None:
    assert carrier_failed(503)
    assert carrier_failed(500)
    assert not carrier_failed(486)
    assert not carrier_failed(None)
    assert not carrier_failed(603)


def test_the_breaker_opens_after_repeated_failures_then_probes_once() -> None:
    policy = BreakerPolicy(failures=3, open_s=30.0, max_open_s=100.0)
    t = trunk(cps=10.0)
    state = TrunkState()
    for i in range(3):
        assert state.circuit(T0) is Circuit.CLOSED
        state = state.failed(T0 + i, policy)
    assert state.circuit(T0 + 3) is Circuit.OPEN
    assert dial_budget(TrunkLoad(t, state, policy=policy), T0 + 31, TICK, 50) == 0
    assert state.circuit(T0 + 32) is Circuit.HALF_OPEN
    assert dial_budget(TrunkLoad(t, state, policy=policy), T0 + 32, TICK, 50) == 1
    _, state = state.reserve(t, T0 + 32)
    assert dial_budget(TrunkLoad(t, state, policy=policy), T0 + 33, TICK, 50) == 0
    # The probe fails: down twice as long.
    state = state.failed(T0 + 40, policy)
    assert state.down_until == T0 + 100
    assert dial_budget(TrunkLoad(t, state, policy=policy), T0 + 99, TICK, 50) == 0
    _, state = state.reserve(t, T0 + 101)
    state = state.succeeded()
    assert state.circuit(T0 + 102) is Circuit.CLOSED
    assert dial_budget(TrunkLoad(t, state, policy=policy), T0 + 102, TICK, 50) == 20


def test_a_lost_probe_does_not_block_the_trunk_for_ever() -> None:
    policy = BreakerPolicy(failures=1, open_s=10.0, probe_timeout_s=60.0)
    t = trunk()
    state = TrunkState().failed(T0, policy)
    _, state = state.reserve(t, T0 + 10)
    assert dial_budget(TrunkLoad(t, state, policy=policy), T0 + 69, TICK, 5) == 0
    assert dial_budget(TrunkLoad(t, state, policy=policy), T0 + 70, TICK, 5) == 1


def test_a_failure_from_before_the_breaker_opened_does_not_extend_it() -> None:
    policy = BreakerPolicy(failures=1, open_s=10.0)
    state = TrunkState().failed(T0, policy)
    assert state.failed(T0 + 1, policy) == state


# -- invariants --------------------------------------------------------------------------------

trunks_st = st.builds(
    trunk,
    cps=st.sampled_from([0.2, 0.5, 1.0, 3.0, 7.5, 20.0]),
    channels=st.none() | st.integers(1, 60),
)


@given(
    t=trunks_st,
    in_use=st.integers(0, 70),
    wants=st.lists(st.integers(0, 40), min_size=1, max_size=5),
    weights=st.lists(st.sampled_from([0.5, 1.0, 3.0]), min_size=5, max_size=5),
    ticks=st.integers(1, 12),
)
@settings(max_examples=150, deadline=None)
def test_never_over_budget_never_over_channels_and_never_faster_than_cps(
    t: Trunk, in_use: int, wants: list[int], weights: list[float], ticks: int
) -> None:
    campaigns = [
        load(f"c{i}", tenant=f"t{i % 2}", available=w, weight=weights[i])
        for i, w in enumerate(wants)
    ]
    state = TrunkState()
    memory = PlanMemory()
    starts: list[float] = []
    for tick in range(ticks):
        now = T0 + tick * TICK
        trunk_load = TrunkLoad(t, state, in_use=min(in_use, t.channels or in_use))
        plan = plan_tick(now, 100, campaigns, trunks={t.id: trunk_load}, memory=memory)
        memory = plan.memory
        planned = sum(plan.dials.values())
        budget = dial_budget(trunk_load, now, TICK, 10**6)
        assert planned <= plan.trunk_budgets.get(t.id, 0) <= budget
        if t.channels is not None:
            assert planned + trunk_load.in_use <= t.channels
        assert all(plan.dials[c.campaign_id] <= (c.available or 0) for c in campaigns)
        placed, state = reserve_all(state, t, now, planned)
        # What the plan allowed is what the bucket gives within the tick.
        assert all(now <= s < now + TICK for s in placed)
        starts.extend(placed)
    gap = 1.0 / t.cps
    assert all(b - a >= gap - 2e-6 for a, b in itertools.pairwise(starts))


@given(
    t=trunks_st,
    retry_after=st.floats(0.0, 30.0),
    later=st.floats(0.0, 40.0),
)
@settings(max_examples=100, deadline=None)
def test_a_throttled_trunk_takes_no_dial_before_its_retry_after(
    t: Trunk, retry_after: float, later: float
) -> None:
    state = TrunkState().throttled(T0, retry_after)
    budget = dial_budget(TrunkLoad(t, state), T0 + later, TICK, 100)
    if T0 + later < T0 + retry_after:
        assert budget == 0
    else:
        assert budget >= 1 or (t.channels is not None and t.channels == 0)


events = st.lists(
    st.tuples(st.sampled_from(["fail", "ok", "dial", "throttle"]), st.floats(0.0, 40.0)),
    max_size=40,
)


@given(t=trunks_st, steps=events, failures=st.integers(1, 4))
@settings(max_examples=150, deadline=None)
def test_a_down_trunk_gets_no_dials_except_one_probe(
    t: Trunk, steps: list[tuple[str, float]], failures: int
) -> None:
    policy = BreakerPolicy(failures=failures, open_s=20.0, max_open_s=80.0)
    state = TrunkState()
    now = T0
    for kind, wait in steps:
        now += wait
        budget = dial_budget(TrunkLoad(t, state, policy=policy), now, TICK, 100)
        circuit = state.circuit(now)
        if circuit is Circuit.OPEN:
            assert budget == 0
        elif circuit is Circuit.HALF_OPEN:
            assert budget <= 1
            assert budget == 0 or not state.probing(now, policy)
        if kind == "fail":
            state = state.failed(now, policy)
        elif kind == "ok":
            state = state.succeeded()
        elif kind == "throttle":
            state = state.throttled(now, 5.0)
        elif budget:
            _, state = state.reserve(t, now)


@given(
    specs=st.lists(trunks_st, min_size=1, max_size=4),
    in_use=st.lists(st.integers(0, 60), min_size=4, max_size=4),
    campaigns=st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 30), st.sampled_from(["A", "B", "C"])),
        min_size=1,
        max_size=12,
    ),
    pool=st.integers(0, 300),
    paused=st.booleans(),
)
@settings(max_examples=150, deadline=None)
def test_every_trunk_keeps_its_own_budget_whatever_shares_it(
    specs: list[Trunk],
    in_use: list[int],
    campaigns: list[tuple[int, int, str]],
    pool: int,
    paused: bool,
) -> None:
    trunks = {
        f"tr{i}": TrunkLoad(
            Trunk(f"tr{i}", "t", "n", "ST", cps=t.cps, channels=t.channels),
            in_use=min(in_use[i], t.channels or in_use[i]),
        )
        for i, t in enumerate(specs)
    }
    loads = [
        load(f"c{n}", trunk_id=f"tr{which}", tenant=tenant, available=available)
        for n, (which, available, tenant) in enumerate(campaigns)
    ]
    tenants = {"A": Group("A", 2.0, cap=20), "B": Group("B"), "C": Group("C", 0.5)}
    plan = plan_tick(T0, pool, loads, tenants, trunks=trunks, paused=paused)
    for key, trunk_load in trunks.items():
        on_trunk = sum(plan.dials[c.campaign_id] for c in loads if c.trunk_id == key)
        assert on_trunk <= dial_budget(trunk_load, T0, TICK, 10**6)
        if trunk_load.trunk.channels is not None:
            assert on_trunk + trunk_load.in_use <= trunk_load.trunk.channels
    # A campaign naming a trunk nobody configured gets nothing.
    assert all(plan.dials[c.campaign_id] == 0 for c in loads if c.trunk_id not in trunks)
    if paused:
        assert sum(plan.dials.values()) == 0
    assert sum(plan.slots.values()) <= pool
