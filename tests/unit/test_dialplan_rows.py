"""`plan_tick` splits slots and dials through `fairshare.allocate` over plain rows, checked once a
tick. These tests hold it to the way it was first written: a validated `Claim` per campaign and
the public `fair_share` for every split (`reference_slots`, `reference_dials` below), with the
same shares, carries, trunk budgets and errors."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import attrs
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from voxcore_domain.dialplan import CampaignLoad, PlanMemory, plan_tick
from voxcore_domain.errors import ValidationError
from voxcore_domain.estimators import CampaignStats
from voxcore_domain.fairshare import (
    Claim,
    Group,
    allocate,
    by_key,
    check_deficits,
    checked,
    fair_share,
    tenant_table,
    unique,
)
from voxcore_domain.model import PacingMode
from voxcore_domain.pacing import PacingDecision
from voxcore_domain.ratelimit import BucketState
from voxcore_domain.trunklimits import TrunkLoad, TrunkState, dial_budget
from voxcore_domain.trunks import Trunk

T0 = 1_767_600_000.0
TICK = 2.0
STATS = CampaignStats().snapshot(T0)

# -- the reference: every split through `Claim` and `fair_share` ---------------------------------


def _slot_demand(c: CampaignLoad, pool_slots: int, stopped: bool) -> int:
    demand = max(0, pool_slots)
    if c.max_concurrency is not None:
        demand = min(demand, c.max_concurrency)
    holding = len(c.busy_elapsed) + c.waiting + len(c.ringing_elapsed)
    if stopped:
        demand = min(demand, holding)
    if c.available is not None:
        demand = min(demand, holding + c.available)
    return demand


def reference_slots(
    now: float,
    pool_slots: int,
    campaigns: Sequence[CampaignLoad],
    tenants: Mapping[str, Group],
    memory: PlanMemory,
    trunks: Mapping[str, TrunkLoad] | None,
    paused: bool,
) -> tuple[dict[str, int], Mapping[str, float]]:
    stopped: set[str] = set()
    if trunks is not None and not paused:
        open_trunks = {k for k, load in trunks.items() if dial_budget(load, now, TICK, 1) > 0}
        stopped = {
            c.campaign_id
            for c in campaigns
            if c.trunk_id is not None and c.trunk_id not in open_trunks
        }
    split = fair_share(
        max(0, pool_slots),
        [
            Claim(
                c.campaign_id,
                c.tenant_id,
                c.weight,
                _slot_demand(c, pool_slots, c.campaign_id in stopped),
            )
            for c in campaigns
        ],
        tenants,
        memory.slot_deficits,
    )
    held = {c.campaign_id: len(c.busy_elapsed) + c.waiting for c in campaigns}
    own_free = {key: max(0, split.shares.get(key, 0) - held[key]) for key in held}
    really_free = max(0, pool_slots - sum(held.values()))
    total = sum(own_free.values())
    if total > really_free:
        own_free = {key: free * really_free // total for key, free in own_free.items()}
    slots = {key: min(split.shares.get(key, 0), held[key]) + own_free[key] for key in held}
    return slots, split.deficits


def reference_dials(
    now: float,
    campaigns: Sequence[CampaignLoad],
    tenants: Mapping[str, Group],
    dial_budget_: int | None,
    memory: PlanMemory,
    trunks: Mapping[str, TrunkLoad] | None,
    decisions: Mapping[str, PacingDecision],
) -> tuple[dict[str, int], dict[str, float], dict[str, int]]:
    weights = {key: attrs.evolve(group, cap=None) for key, group in tenants.items()}
    wanted = {c.campaign_id: decisions[c.campaign_id].dials for c in campaigns}
    deficits = dict(memory.dial_deficits)
    budgets: dict[str, int] = {}
    if trunks is not None:
        allowed = {c.campaign_id: 0 for c in campaigns}
        on_trunk: dict[str, list[CampaignLoad]] = {}
        for c in campaigns:
            if c.trunk_id is None:
                allowed[c.campaign_id] = wanted[c.campaign_id]
            elif c.trunk_id in trunks:
                on_trunk.setdefault(c.trunk_id, []).append(c)
            else:
                deficits.pop(c.campaign_id, None)
        for trunk_id, members in on_trunk.items():
            asking = [c for c in members if wanted[c.campaign_id] > 0]
            for c in members:
                if wanted[c.campaign_id] <= 0:
                    deficits.pop(c.campaign_id, None)
            demand = sum(wanted[c.campaign_id] for c in asking)
            budget = dial_budget(trunks[trunk_id], now, TICK, demand)
            budgets[trunk_id] = budget
            if budget >= demand:
                allowed.update({c.campaign_id: wanted[c.campaign_id] for c in asking})
                continue
            split = fair_share(
                budget,
                [
                    Claim(c.campaign_id, c.tenant_id, c.weight, wanted[c.campaign_id])
                    for c in asking
                ],
                weights,
                {c.campaign_id: deficits.get(c.campaign_id, 0.0) for c in asking},
            )
            allowed.update(split.shares)
            deficits.update(split.deficits)
        wanted = allowed
        if dial_budget_ is None:
            return wanted, deficits, budgets
    total = sum(wanted.values())
    split = fair_share(
        total if dial_budget_ is None else min(dial_budget_, total),
        [Claim(c.campaign_id, c.tenant_id, c.weight, wanted[c.campaign_id]) for c in campaigns],
        weights,
        deficits if trunks is None else {},
    )
    return dict(split.shares), dict(split.deficits) if trunks is None else deficits, budgets


# -- random ticks --------------------------------------------------------------------------------

WEIGHTS = st.sampled_from([0.5, 1.0, 1.0, 2.0, 3.0]) | st.floats(0.01, 50.0)
MODES = [PacingMode.parse(m) for m in ("progressive", "ratio:2.5", "preview", "predictive")]


@st.composite
def campaign_loads(draw: st.DrawFn, trunk_ids: Sequence[str]) -> list[CampaignLoad]:
    count = draw(st.integers(0, 12))
    keys = draw(st.permutations([f"c{i:02d}" for i in range(count)]))
    return [
        CampaignLoad(
            campaign_id=key,
            tenant_id=draw(st.sampled_from(["A", "B", "C"])),
            mode=draw(st.sampled_from(MODES)),
            stats=STATS,
            busy_elapsed=(30.0,) * draw(st.integers(0, 12)),
            ringing_elapsed=(3.0,) * draw(st.integers(0, 4)),
            waiting=draw(st.integers(0, 2)),
            weight=draw(WEIGHTS),
            max_concurrency=draw(st.none() | st.integers(0, 20)),
            available=draw(st.none() | st.integers(0, 30)),
            trunk_id=draw(st.sampled_from([None, *trunk_ids, "gone"])),
        )
        for key in keys
    ]


@st.composite
def trunk_loads(draw: st.DrawFn) -> dict[str, TrunkLoad]:
    loads = {}
    for i in range(draw(st.integers(1, 3))):
        key = f"tr{i}"
        channels = draw(st.none() | st.integers(1, 60))
        state = TrunkState(
            bucket=draw(st.none() | st.builds(BucketState, st.integers(0, 10**6), st.just(0))),
            backoff_until=draw(st.sampled_from([0.0, T0 + 1.0])),
        )
        loads[key] = TrunkLoad(
            Trunk(
                key, "t", key, "ST", cps=draw(st.sampled_from([0.5, 2.0, 5.0])), channels=channels
            ),
            state,
            in_use=draw(st.integers(0, channels or 10)),
        )
    return loads


@given(
    data=st.data(),
    pool=st.integers(-3, 200),
    budget=st.none() | st.integers(0, 40),
    caps=st.lists(st.sampled_from([None, 0, 1, 2, 5, 40]), min_size=2, max_size=2),
    limited=st.booleans(),
    paused=st.booleans(),
    ticks=st.integers(1, 3),
)
@settings(max_examples=150, deadline=None)
def test_the_plan_is_what_claims_and_fair_share_give(
    data: st.DataObject,
    pool: int,
    budget: int | None,
    caps: list[int | None],
    limited: bool,
    paused: bool,
    ticks: int,
) -> None:
    trunks = data.draw(trunk_loads()) if limited else None
    campaigns = data.draw(campaign_loads(list(trunks or ())))
    tenants = {k: Group(k, w, cap) for k, w, cap in zip("AB", (2.0, 0.5), caps, strict=True)}
    memory = PlanMemory()
    for tick in range(ticks):
        now = T0 + tick * TICK
        plan = plan_tick(now, pool, campaigns, tenants, budget, memory, TICK, trunks, paused)
        slots, slot_carry = reference_slots(now, pool, campaigns, tenants, memory, trunks, paused)
        assert plan.slots == slots
        assert plan.memory.slot_deficits == slot_carry
        if paused:
            assert plan.memory.dial_deficits == memory.dial_deficits
        else:
            dials, carry, budgets = reference_dials(
                now, campaigns, tenants, budget, memory, trunks, plan.decisions
            )
            assert (plan.dials, plan.memory.dial_deficits, plan.trunk_budgets) == (
                dials,
                carry,
                budgets,
            )
        memory = plan.memory


# -- the checks done once a tick -----------------------------------------------------------------

ANY_KEY = st.sampled_from(["c1", "", "  ", "x"]) | st.integers(0, 2) | st.none()
ANY_WEIGHT = st.sampled_from([1.0, 2.5, 0.0, -1.0, math.nan, math.inf, 2, True, "1"]) | st.floats()
ANY_DEMAND = st.sampled_from([0, 3, -1, 2.0, True, None]) | st.integers(-5, 10**6)


def outcome(build: object) -> tuple[str, str]:
    try:
        build()  # type: ignore[operator]
    except ValidationError as error:
        return ("ValidationError", str(error))
    return ("ok", "")


@given(st.lists(st.tuples(ANY_KEY, ANY_KEY, ANY_WEIGHT, ANY_DEMAND), max_size=4))
def test_rows_are_checked_as_claims_are(rows: list[tuple[object, object, object, object]]) -> None:
    def claims() -> None:
        for row in rows:
            Claim(*row)  # type: ignore[arg-type]

    assert outcome(lambda: checked(rows)) == outcome(claims)  # type: ignore[arg-type]


@given(
    st.dictionaries(
        st.sampled_from(["a", "b", "c"]),
        st.floats() | st.integers(-3, 3) | st.booleans() | st.sampled_from(["1", None]),
        max_size=3,
    )
)
@example({"a": 1.0, "b": math.nan})
@example({"a": -math.inf, "b": math.inf})
@example({"a": 1.5e308, "b": 1.5e308})
@example({"a": 1, "b": True, "c": "1"})
def test_deficits_are_checked_one_by_one_as_before(deficits: dict[str, object]) -> None:
    bad = [
        (key, value)
        for key, value in deficits.items()
        if not isinstance(value, int | float) or not math.isfinite(value)
    ]
    expected = ("ok", "")
    if bad:
        key, value = bad[0]
        expected = (
            "ValidationError",
            str(ValidationError("deficits", f"{key!r} carries {value!r}, not a finite number")),
        )
    assert outcome(lambda: check_deficits(deficits)) == expected  # type: ignore[arg-type]


@given(st.lists(st.sampled_from(["d", "c", "b", "a"]), max_size=6))
def test_a_key_twice_is_refused_naming_the_first_in_key_order(keys: list[str]) -> None:
    twice = sorted(key for key in set(keys) if keys.count(key) > 1)
    expected = ("ok", "")
    if twice:
        expected = (
            "ValidationError",
            str(ValidationError("claims", f"claim key {twice[0]!r} appears twice")),
        )
    assert outcome(lambda: unique(keys)) == expected


@given(
    claims=st.lists(
        st.builds(
            Claim,
            st.sampled_from(["a", "b", "c", "d", "e"]),
            st.sampled_from("tu"),
            WEIGHTS,
            st.integers(0, 30),
        ),
        max_size=5,
        unique_by=lambda claim: claim.key,
    ),
    budget=st.integers(0, 80),
    caps=st.lists(st.none() | st.integers(0, 30), min_size=2, max_size=2),
    deficits=st.dictionaries(st.sampled_from("abcde"), st.floats(-3.0, 3.0), max_size=5),
)
def test_uncapped_rows_split_as_fair_share_without_the_caps(
    claims: list[Claim], budget: int, caps: list[int | None], deficits: dict[str, float]
) -> None:
    groups = [Group(key, 1.5, cap) for key, cap in zip("tu", caps, strict=True)]
    rows = by_key(checked([(c.key, c.group, c.weight, c.demand) for c in claims]))
    shares, carry, fair = allocate(budget, rows, tenant_table(groups), deficits, capped=False)
    public = fair_share(budget, claims, [attrs.evolve(g, cap=None) for g in groups], deficits)
    assert (shares, carry) == (public.shares, public.deficits)
    assert dict(zip(shares, fair, strict=True)) == public.entitlements


def test_a_bad_campaign_is_refused_naming_its_field() -> None:
    good = CampaignLoad("a", "t", PacingMode.parse("progressive"), STATS, (), ())
    for bad, field in [
        (attrs.evolve(good, weight=0.0), "weight"),
        (attrs.evolve(good, campaign_id=" "), "key"),
        (attrs.evolve(good, tenant_id=""), "group"),
        (attrs.evolve(good, max_concurrency=-1), "demand"),
    ]:
        with pytest.raises(ValidationError) as raised:
            plan_tick(T0, 10, [good, bad] if field != "key" else [bad])
        assert raised.value.field == field
    with pytest.raises(ValidationError) as raised:
        plan_tick(T0, 10, [good, good])
    assert raised.value.field == "claims"


def test_a_trunk_split_weighs_tenants_but_does_not_cap_their_dials() -> None:
    campaigns = [
        CampaignLoad(key, tenant, PacingMode.parse("ratio:3"), STATS, (), (), trunk_id="tr")
        for key, tenant in (("a", "A"), ("b", "B"))
    ]
    tenants = {"A": Group("A", 3.0, cap=2), "B": Group("B")}
    trunks = {"tr": TrunkLoad(Trunk("tr", "t", "tr", "ST", cps=4.0))}
    plan = plan_tick(T0, 100, campaigns, tenants, trunks=trunks)
    assert plan.slots["a"] == 2
    assert plan.trunk_budgets == {"tr": 8}
    # A weighs 3 to B's 1 on the trunk; its cap of 2 is on slots, not on dials.
    assert plan.dials == {"a": 6, "b": 2}
    assert reference_dials(T0, campaigns, tenants, None, PlanMemory(), trunks, plan.decisions)[
        0
    ] == {
        "a": 6,
        "b": 2,
    }
