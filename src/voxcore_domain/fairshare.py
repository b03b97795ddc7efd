"""Fair share: a tick's dials or slots split across tenants, then across their campaigns, by weight.

`entitlements` is the real-valued answer: weighted max-min fairness (water-filling), first across
tenants, then each tenant's part across its campaigns, nobody given more than it can use and the
surplus of the satisfied passed on to the rest. `fair_share` turns that into whole dials that add
up exactly to what can be used this tick, and carries each campaign's rounding error (its
deficit) into the next tick. That is smooth weighted round robin with many units a round: a
campaign entitled to 0.2 dials a tick gets one every fifth tick, never none because 0.2 rounds
to 0.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from itertools import accumulate
from types import MappingProxyType

import attrs

from voxcore_domain import validators as v
from voxcore_domain.errors import ValidationError

DEFICIT_LIMIT = 2.0
"""Most carry, either way, one claim takes into the next round. Steady claims stay well inside it
on their own (random searches over thousands of claim sets never passed 1.31); the clamp stops a
claim whose demand or tenant keeps changing from banking credit without end."""

CREDIT_QUANTUM = 10**9
"""Credits are ordered in billionths of a unit, as whole numbers, so that equal claims tie
exactly (and the key decides) instead of by float noise from the water-filling."""

_NO_DEFICITS: Mapping[str, float] = MappingProxyType({})


@attrs.frozen
class Claim:
    """One campaign asking for part of the round's budget."""

    key: str = attrs.field(validator=v.non_empty)
    """The campaign's id; keys also break ties, so results do not depend on the claims' order."""
    group: str = attrs.field(validator=v.non_empty)
    """Its tenant's id: the budget is split across tenants before campaigns."""
    weight: float = attrs.field(validator=v.positive)
    """Share against the other campaigns of the same tenant."""
    demand: int = attrs.field(validator=v.count)
    """Most units it can use this round, its own cap already applied."""


@attrs.frozen
class Group:
    """A tenant: how its campaigns together weigh against other tenants, and their joint cap."""

    key: str = attrs.field(validator=v.non_empty)
    """The tenant's id, as in `Claim.group`."""
    weight: float = attrs.field(default=1.0, validator=v.positive)
    """Share against the other tenants."""
    cap: int | None = attrs.field(default=None, validator=v.optional(v.count))
    """Most units all its claims together may get this round; None for no cap."""


@attrs.frozen
class Allocation:
    """One round's split."""

    shares: Mapping[str, int]
    """Whole units per claim key; every claim has an entry."""
    deficits: Mapping[str, float]
    """What each claim was owed (or overpaid) this round: pass it to the next round's call.
    Claims with no demand carry nothing."""
    entitlements: Mapping[str, float]
    """The real-valued fair shares that the whole ones track."""


def entitlements(
    budget: float, claims: Sequence[Claim], groups: Mapping[str, Group] | Sequence[Group] = ()
) -> dict[str, float]:
    """Hierarchical weighted max-min fair split of `budget` (tenants, then campaigns).

    A tenant's demand is the smaller of its cap and its campaigns' total demand. Tenants missing
    from `groups` weigh 1 and have no cap. The result sums to min(budget, usable demand).
    """
    if not isinstance(budget, int | float) or not math.isfinite(budget) or budget < 0:
        raise ValidationError("budget", f"must be a finite number, 0 or more, got {budget!r}")
    return _entitle(budget, _members(claims), _groups(groups))


def fair_share(
    budget: int,
    claims: Sequence[Claim],
    groups: Mapping[str, Group] | Sequence[Group] = (),
    deficits: Mapping[str, float] = _NO_DEFICITS,
) -> Allocation:
    """Split a whole `budget` into whole shares that track `entitlements` over rounds.

    Exactly min(budget, usable demand) units are handed out, no claim above its demand and no
    tenant above its cap. A claim's credit is its entitlement plus the deficit it carried in;
    units go one at a time to the largest unmet credit that still has room (ties to the smaller
    key), and what is left unmet is the next deficit. From zero deficits every share is its
    entitlement rounded up or down; over rounds a claim's running total stays within
    `DEFICIT_LIMIT` of its entitled total, so even a claim entitled to a small fraction of a unit
    gets one every few multiples of 1/entitlement rounds.
    """
    if not isinstance(budget, int) or isinstance(budget, bool) or budget < 0:
        raise ValidationError("budget", f"must be a whole number, 0 or more, got {budget!r}")
    for key, value in deficits.items():
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise ValidationError("deficits", f"{key!r} carries {value!r}, not a finite number")
    members = _members(claims)
    tenants = _groups(groups)
    fair = _entitle(budget, members, tenants)
    ordered = [claim for owned in members.values() for claim in owned]
    ordered.sort(key=_key)
    carried = deficits.get
    limit = DEFICIT_LIMIT
    # `_bounded`, spelt out: a thousand claims a tick, twice.
    credits = [
        fair[claim.key] + (-limit if d < -limit else limit if d > limit else d)
        for claim in ordered
        for d in (carried(claim.key, 0.0),)
    ]
    whole = _integerize(
        min(budget, sum(_usable(tenants.get(key), owned) for key, owned in members.items())),
        [round(credit * CREDIT_QUANTUM) for credit in credits],
        [claim.demand for claim in ordered],
        [claim.group for claim in ordered],
        {key: tenants[key].cap if key in tenants else None for key in members},
    )
    return Allocation(
        shares={claim.key: share for claim, share in zip(ordered, whole, strict=True)},
        deficits={
            claim.key: -limit if d < -limit else limit if d > limit else d
            for claim, credit, share in zip(ordered, credits, whole, strict=True)
            if claim.demand > 0
            for d in (credit - share,)
        },
        entitlements=fair,
    )


def _entitle(
    budget: float, members: Mapping[str, Sequence[Claim]], tenants: Mapping[str, Group]
) -> dict[str, float]:
    tenant_shares = _water_fill(
        budget,
        [
            (key, tenants[key].weight if key in tenants else 1.0, _usable(tenants.get(key), owned))
            for key, owned in members.items()
        ],
    )
    shares: dict[str, float] = {}
    for key, owned in members.items():
        parties = [(claim.key, claim.weight, float(claim.demand)) for claim in owned]
        shares.update(_water_fill(tenant_shares[key], parties))
    return shares


def _key(claim: Claim) -> str:
    return claim.key


def _members(claims: Sequence[Claim]) -> dict[str, list[Claim]]:
    """Claims by tenant, in key order."""
    members: dict[str, list[Claim]] = {}
    seen: set[str] = set()
    for claim in sorted(claims, key=_key):
        if claim.key in seen:
            raise ValidationError("claims", f"claim key {claim.key!r} appears twice")
        seen.add(claim.key)
        members.setdefault(claim.group, []).append(claim)
    return members


def _groups(groups: Mapping[str, Group] | Sequence[Group]) -> dict[str, Group]:
    listed: Iterable[Group] = groups.values() if isinstance(groups, Mapping) else groups
    table: dict[str, Group] = {}
    for group in listed:
        if group.key in table:
            raise ValidationError("groups", f"group key {group.key!r} appears twice")
        table[group.key] = group
    return table


def _usable(group: Group | None, owned: Sequence[Claim]) -> int:
    demand = sum(claim.demand for claim in owned)
    return demand if group is None or group.cap is None else min(group.cap, demand)


def _bounded(deficit: float) -> float:
    return max(-DEFICIT_LIMIT, min(DEFICIT_LIMIT, deficit))


def _water_fill(amount: float, parties: Sequence[tuple[str, float, float]]) -> dict[str, float]:
    """Max-min fair split of `amount` over (key, weight, demand) parties.

    Parties needing less per weight than the common level get all they need; the rest share
    what is left in proportion to weight. Visiting parties by demand per weight finds the level
    in one pass.
    """
    order = sorted(parties, key=lambda party: (party[2] / party[1], party[0]))
    # Suffix sums: the weight still sharing stays exact instead of being whittled by subtraction.
    weight_left = list(accumulate(weight for _, weight, _ in reversed(order)))[::-1]
    shares: dict[str, float] = {}
    left = amount
    for index, (key, weight, demand) in enumerate(order):
        level = left / weight_left[index]
        if demand / weight <= level:
            shares[key] = demand
            left = max(0.0, left - demand)
            continue
        for rest_key, rest_weight, _ in order[index:]:
            shares[rest_key] = level * rest_weight
        break
    return shares


def _integerize(
    target: int,
    credits: Sequence[int],
    demands: Sequence[int],
    groups: Sequence[str],
    caps: Mapping[str, int | None],
) -> list[int]:
    """Whole shares summing to `target`, as if units went one by one to the claim with the
    largest unmet credit (in `CREDIT_QUANTUM`s) that has room in its demand and its group's cap.

    That greedy keeps the `target` most-owed units the limits allow (claim demands inside group
    caps form a laminar matroid), so it needs no loop per unit: start every claim at the units
    its credit fully covers, cut groups over their cap back to their most-owed units, then add or
    take back the few units still off by the same order. The work grows with the number of
    claims, not with the budget.
    """
    shares = [
        max(0, min(demand, credit // CREDIT_QUANTUM))
        for credit, demand in zip(credits, demands, strict=True)
    ]
    members: dict[str, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(group, []).append(index)
    room: dict[str, int | None] = {}
    for group, indices in members.items():
        held = sum(shares[index] for index in indices)
        cap = caps[group]
        if cap is not None and held > cap:
            _take_back(shares, credits, indices, held - cap)
            held = cap
        room[group] = None if cap is None else cap - held
    missing = target - sum(shares)
    if missing < 0:
        _take_back(shares, credits, range(len(shares)), -missing)
    elif missing > 0:
        _hand_out(shares, credits, demands, groups, room, missing)
    return shares


def _unmet(credit: int, share: int) -> int:
    return credit - share * CREDIT_QUANTUM


def _take_back(
    shares: list[int], credits: Sequence[int], indices: Iterable[int], count: int
) -> None:
    """Remove `count` units, always the one held on the least credit (ties: larger key first,
    the mirror of `_hand_out`)."""
    heap = [(_unmet(credits[i], shares[i] - 1), -i) for i in indices if shares[i] > 0]
    heapq.heapify(heap)
    for _ in range(count):
        _, negated = heapq.heappop(heap)
        index = -negated
        shares[index] -= 1
        if shares[index] > 0:
            heapq.heappush(heap, (_unmet(credits[index], shares[index] - 1), negated))


def _hand_out(
    shares: list[int],
    credits: Sequence[int],
    demands: Sequence[int],
    groups: Sequence[str],
    room: dict[str, int | None],
    count: int,
) -> None:
    """Add `count` units, always to the largest unmet credit with room (ties: smaller key)."""
    quantum = CREDIT_QUANTUM
    heap = [
        (share * quantum - credit, i)  # -_unmet(credit, share), for every claim with room
        for i, (credit, share, demand) in enumerate(zip(credits, shares, demands, strict=True))
        if share < demand
    ]
    heapq.heapify(heap)
    while count:
        _, index = heapq.heappop(heap)
        left = room[groups[index]]
        if left == 0:
            continue
        if left is not None:
            room[groups[index]] = left - 1
        shares[index] += 1
        count -= 1
        if shares[index] < demands[index]:
            heapq.heappush(heap, (-_unmet(credits[index], shares[index]), index))
