"""Fair share: exact integer splits that track hierarchical max-min fair entitlements."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxcore_domain.errors import ValidationError
from voxcore_domain.fairshare import (
    CREDIT_QUANTUM,
    DEFICIT_LIMIT,
    Allocation,
    Claim,
    Group,
    entitlements,
    fair_share,
)

EPS = 1e-6

Round = tuple[int, list[Claim], list[Group]]


def run(
    budget: int, claims: Sequence[Claim], groups: Sequence[Group] = (), rounds: int = 1
) -> list[Allocation]:
    allocations: list[Allocation] = []
    deficits: Mapping[str, float] = {}
    for _ in range(rounds):
        allocation = fair_share(budget, claims, groups, deficits)
        allocations.append(allocation)
        deficits = allocation.deficits
    return allocations


def usable(claims: Sequence[Claim], groups: Sequence[Group]) -> int:
    caps = {group.key: group.cap for group in groups}
    total = 0
    for tenant in {claim.group for claim in claims}:
        demand = sum(claim.demand for claim in claims if claim.group == tenant)
        cap = caps.get(tenant)
        total += demand if cap is None else min(cap, demand)
    return total


# -- examples ------------------------------------------------------------------------------------


def test_three_equal_campaigns_rotate_the_odd_unit() -> None:
    claims = [Claim(key, "t", 1.0, 10) for key in "abc"]
    shares = [dict(a.shares) for a in run(10, claims, rounds=6)]
    assert shares[:3] == [
        {"a": 4, "b": 3, "c": 3},
        {"a": 3, "b": 4, "c": 3},
        {"a": 3, "b": 3, "c": 4},
    ]
    assert shares[3:] == shares[:3]


def test_a_capped_tenant_leaves_its_surplus_to_the_others() -> None:
    claims = [Claim("a1", "small", 1.0, 10), Claim("b1", "big", 1.0, 10), Claim("b2", "big", 1, 2)]
    allocation = fair_share(10, claims, [Group("small", cap=2)])
    assert allocation.shares == {"a1": 2, "b1": 6, "b2": 2}
    assert allocation.entitlements == pytest.approx({"a1": 2.0, "b1": 6.0, "b2": 2.0})


def test_a_campaign_without_demand_gets_nothing_and_carries_nothing() -> None:
    claims = [Claim("idle", "t", 5.0, 0), Claim("busy", "t", 1.0, 7)]
    allocation = fair_share(5, claims, deficits={"idle": 0.9, "busy": 0.0})
    assert allocation.shares == {"idle": 0, "busy": 5}
    assert "idle" not in allocation.deficits


def test_tenant_weights_split_first_then_campaign_weights() -> None:
    claims = [
        Claim("x", "heavy", 2.0, 100),
        Claim("y", "heavy", 1.0, 100),
        Claim("z", "light", 1.0, 100),
    ]
    allocation = fair_share(9, claims, {"heavy": Group("heavy", weight=2.0)})
    assert allocation.shares == {"x": 4, "y": 2, "z": 3}


def test_tenants_missing_from_groups_weigh_one_and_have_no_cap() -> None:
    claims = [Claim("a", "listed", 1.0, 50), Claim("b", "unlisted", 1.0, 50)]
    assert fair_share(30, claims, [Group("listed", weight=2.0)]).shares == {"a": 20, "b": 10}
    assert fair_share(30, claims, [Group("listed", cap=5)]).shares == {"a": 5, "b": 25}


def test_water_filling_passes_a_satisfied_campaigns_surplus_on() -> None:
    claims = [Claim("tiny", "t", 1.0, 1), Claim("p", "t", 1.0, 10), Claim("q", "t", 1.0, 10)]
    assert entitlements(9, claims) == pytest.approx({"tiny": 1.0, "p": 4.0, "q": 4.0})


def test_a_budget_above_demand_gives_every_campaign_all_it_asked_for() -> None:
    claims = [Claim("a", "t", 1.0, 3), Claim("b", "u", 9.0, 4)]
    assert fair_share(100, claims).shares == {"a": 3, "b": 4}


def test_a_one_percent_campaign_gets_its_unit_every_hundred_rounds() -> None:
    claims = [Claim("big", "t", 99.0, 5), Claim("small", "t", 1.0, 5)]
    received = [a.shares["small"] for a in run(1, claims, rounds=1000)]
    assert sum(received) == 10
    assert 1 in received[:100]


def test_deficits_of_vanished_campaigns_are_dropped() -> None:
    allocation = fair_share(3, [Claim("a", "t", 1.0, 5)], deficits={"gone": 1.5})
    assert set(allocation.deficits) == {"a"}


def test_carried_deficits_are_clamped() -> None:
    claims = [Claim("a", "t", 1.0, 5), Claim("b", "t", 1.0, 5)]
    allocation = fair_share(2, claims, deficits={"a": 1e9, "b": -1e9})
    assert allocation.shares == {"a": 2, "b": 0}
    assert all(abs(d) <= DEFICIT_LIMIT for d in allocation.deficits.values())


def test_groups_may_be_given_as_a_mapping_or_a_sequence() -> None:
    claims = [Claim("a", "t", 1.0, 9), Claim("b", "u", 1.0, 9)]
    groups = [Group("t", weight=3.0), Group("u", cap=1)]
    assert fair_share(8, claims, groups) == fair_share(8, claims, {g.key: g for g in groups})


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: fair_share(-1, []), "budget"),
        (lambda: fair_share(2.5, []), "budget"),  # type: ignore[arg-type]
        (lambda: entitlements(math.inf, []), "budget"),
        (lambda: Claim("a", "t", 0.0, 1), "weight"),
        (lambda: Claim("a", "t", math.nan, 1), "weight"),
        (lambda: Claim("a", "t", 1.0, -1), "demand"),
        (lambda: Claim("", "t", 1.0, 1), "key"),
        (lambda: Group("t", weight=-1.0), "weight"),
        (lambda: Group("t", cap=-1), "cap"),
        (lambda: fair_share(1, [Claim("a", "t", 1, 1), Claim("a", "u", 1, 1)]), "claims"),
        (lambda: fair_share(1, [], [Group("t"), Group("t")]), "groups"),
        (lambda: fair_share(1, [Claim("a", "t", 1, 1)], deficits={"a": math.nan}), "deficits"),
    ],
)
def test_bad_input_names_its_field(build: Callable[[], object], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        build()
    assert raised.value.field == field


# -- properties ----------------------------------------------------------------------------------

WEIGHTS = st.sampled_from([0.1, 0.5, 1.0, 2.0, 3.0, 7.5]) | st.floats(0.01, 100.0)


@st.composite
def rounds(draw: st.DrawFn, max_claims: int = 8) -> Round:
    tenants = [f"t{i}" for i in range(draw(st.integers(1, 3)))]
    claims = [
        Claim(f"c{i}", draw(st.sampled_from(tenants)), draw(WEIGHTS), draw(st.integers(0, 20)))
        for i in range(draw(st.integers(0, max_claims)))
    ]
    groups = [
        Group(tenant, draw(WEIGHTS), draw(st.none() | st.integers(0, 25)))
        for tenant in tenants
        if draw(st.booleans())
    ]
    return draw(st.integers(0, 60)), claims, groups


carried = st.dictionaries(
    st.sampled_from([f"c{i}" for i in range(10)]), st.floats(-5.0, 5.0), max_size=10
)


@given(rounds(), carried)
def test_shares_sum_exactly_and_respect_demands_and_caps(
    case: Round, deficits: dict[str, float]
) -> None:
    budget, claims, groups = case
    allocation = fair_share(budget, claims, groups, deficits)
    assert sum(allocation.shares.values()) == min(budget, usable(claims, groups))
    assert set(allocation.shares) == {claim.key for claim in claims}
    for claim in claims:
        assert 0 <= allocation.shares[claim.key] <= claim.demand
    for group in groups:
        held = sum(allocation.shares[c.key] for c in claims if c.group == group.key)
        assert group.cap is None or held <= group.cap
    assert all(abs(d) <= DEFICIT_LIMIT for d in allocation.deficits.values())


@given(rounds())
def test_a_first_round_rounds_each_entitlement_up_or_down(case: Round) -> None:
    allocation = fair_share(*case)
    for key, share in allocation.shares.items():
        assert abs(share - allocation.entitlements[key]) < 1 + EPS


@given(rounds())
def test_entitlements_are_max_min_fair(case: Round) -> None:
    budget, claims, groups = case
    fair = entitlements(budget, claims, groups)
    assert sum(fair.values()) == pytest.approx(min(budget, usable(claims, groups)))
    weights = {group.key: group.weight for group in groups}
    tenants = {claim.group for claim in claims}
    owned = {t: [c for c in claims if c.group == t] for t in tenants}
    got = {t: sum(fair[c.key] for c in owned[t]) for t in tenants}
    room = {t: usable(owned[t], groups) - got[t] for t in tenants}
    level = {t: got[t] / weights.get(t, 1.0) for t in tenants}
    for tenant in tenants:
        assert room[tenant] > -EPS
        if room[tenant] > EPS:
            # An unsatisfied tenant is at the highest level there is.
            assert all(level[tenant] >= level[other] - EPS for other in tenants)
    for claim in claims:
        assert -EPS < fair[claim.key] < claim.demand + EPS
        if fair[claim.key] < claim.demand - EPS:
            mine = fair[claim.key] / claim.weight
            assert all(mine >= fair[c.key] / c.weight - EPS for c in owned[claim.group])


def greedy_unit_by_unit(
    budget: int, claims: Sequence[Claim], groups: Sequence[Group], deficits: Mapping[str, float]
) -> dict[str, int]:
    """The documented rule, one unit at a time: the most-owed claim with room gets it."""
    fair = entitlements(budget, claims, groups)
    caps = {group.key: group.cap for group in groups}
    shares = {claim.key: 0 for claim in claims}
    held: Counter[str] = Counter()

    def has_room(claim: Claim) -> bool:
        cap = caps.get(claim.group)
        return shares[claim.key] < claim.demand and (cap is None or held[claim.group] < cap)

    for _ in range(min(budget, usable(claims, groups))):
        open_claims = [c for c in claims if has_room(c)]
        owed = {
            c.key: round(
                (fair[c.key] + max(-DEFICIT_LIMIT, min(DEFICIT_LIMIT, deficits.get(c.key, 0.0))))
                * CREDIT_QUANTUM
            )
            - shares[c.key] * CREDIT_QUANTUM
            for c in open_claims
        }
        best = min(open_claims, key=lambda c: (-owed[c.key], c.key))
        shares[best.key] += 1
        held[best.group] += 1
    return shares


@given(rounds(), carried)
def test_shares_are_what_handing_out_one_unit_at_a_time_gives(
    case: Round, deficits: dict[str, float]
) -> None:
    budget, claims, groups = case
    assert fair_share(budget, claims, groups, deficits).shares == greedy_unit_by_unit(
        budget, claims, groups, deficits
    )


@given(rounds(), carried, st.randoms(use_true_random=False))
def test_the_order_of_claims_does_not_matter(
    case: Round, deficits: dict[str, float], rng: random.Random
) -> None:
    budget, claims, groups = case
    shuffled = list(claims)
    rng.shuffle(shuffled)
    assert fair_share(budget, shuffled, groups[::-1], deficits) == fair_share(
        budget, claims, groups, deficits
    )


ROUNDS = 150


@settings(max_examples=40)
@given(rounds(max_claims=10))
def test_over_many_rounds_nobody_starves_and_averages_converge(case: Round) -> None:
    budget, claims, groups = case
    allocations = run(budget, claims, groups, rounds=ROUNDS)
    fair = allocations[0].entitlements
    for claim in claims:
        entitled = fair[claim.key]
        received = [a.shares[claim.key] for a in allocations]
        # The running total never strays more than the deficit limit from the entitled one, so
        # the average over R rounds is within DEFICIT_LIMIT / R of the entitlement.
        assert abs(sum(received) - ROUNDS * entitled) <= DEFICIT_LIMIT + EPS
        if entitled < 3 / ROUNDS:
            continue
        when = [r for r, share in enumerate(received, start=1) if share > 0]
        assert when[0] <= math.ceil(1 / entitled - EPS) + 1
        gaps = [later - earlier for earlier, later in pairwise(when)]
        assert max(gaps, default=0) <= math.ceil(2 / entitled - EPS) + 1
