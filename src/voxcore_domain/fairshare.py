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
from itertools import accumulate, pairwise, repeat
from operator import itemgetter
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
    rows = _rows(claims)
    fair, _ = _entitle(budget, rows, _members(rows), tenant_table(groups), capped=True)
    return dict(zip([row[0] for row in rows], fair, strict=True))


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
    check_budget(budget)
    check_deficits(deficits)
    rows = _rows(claims)
    shares, carry, fair = allocate(budget, rows, tenant_table(groups), deficits)
    entitled = dict(zip(shares, fair, strict=True))
    return Allocation(shares=shares, deficits=carry, entitlements=entitled)


# -- the planner's way in: plain rows ------------------------------------------------------------

Row = tuple[str, str, float, int]
"""A claim as `allocate` takes it: key, group, weight, demand."""


def check_budget(budget: int) -> None:
    """`fair_share`'s check of its budget."""
    if not isinstance(budget, int) or isinstance(budget, bool) or budget < 0:
        raise ValidationError("budget", f"must be a whole number, 0 or more, got {budget!r}")


def check_deficits(deficits: Mapping[str, float]) -> None:
    """`fair_share`'s check of the deficits carried in: finite numbers."""
    values = deficits.values()
    # All floats, and an infinity or a NaN anywhere would make the sum one: the usual case in
    # two passes in C, anything else looked at one by one.
    if set(map(type, values)) <= {float} and math.isfinite(sum(values)):
        return
    for key, value in deficits.items():
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise ValidationError("deficits", f"{key!r} carries {value!r}, not a finite number")


def checked(rows: list[Row]) -> list[Row]:
    """`rows`, each having passed `Claim`'s checks: the first one failing raises the
    `ValidationError` a `Claim` of it would, naming the field."""
    inf = math.inf
    for key, group, weight, demand in rows:
        # The usual values are tested inline; anything else is built into a `Claim`, which
        # raises, or accepts it (an int weight, say).
        if not (
            type(weight) is float
            and 0.0 < weight < inf
            and type(demand) is int
            and demand >= 0
            and type(key) is str
            and type(group) is str
            and key.strip()
            and group.strip()
        ):
            Claim(key, group, weight, demand)
    return rows


def unique(keys: Sequence[str]) -> None:
    """`fair_share`'s `ValidationError` if a claim key appears twice (naming the smallest)."""
    if len(set(keys)) == len(keys):
        return
    for key, after in pairwise(sorted(keys)):
        if key == after:
            raise ValidationError("claims", f"claim key {key!r} appears twice")


def by_key(rows: Iterable[Row]) -> list[Row]:
    """Rows in key order, as `allocate` takes them."""
    return sorted(rows, key=itemgetter(0))


def tenant_table(groups: Mapping[str, Group] | Sequence[Group]) -> dict[str, Group]:
    """Groups by key, as `allocate` takes them; `ValidationError` if a key appears twice."""
    listed: Iterable[Group] = groups.values() if isinstance(groups, Mapping) else groups
    table: dict[str, Group] = {}
    for group in listed:
        if group.key in table:
            raise ValidationError("groups", f"group key {group.key!r} appears twice")
        table[group.key] = group
    return table


def allocate(
    budget: int,
    rows: Sequence[Row],
    tenants: Mapping[str, Group],
    deficits: Mapping[str, float],
    capped: bool = True,
) -> tuple[dict[str, int], dict[str, float], list[float]]:
    """`fair_share` with everything already checked: rows in key order, no key twice
    (`checked`, `unique`, `by_key`), `tenant_table`, `check_budget`, `check_deficits`. The
    shares and the deficits to carry, by key in key order, and each row's entitlement.
    `capped=False`: tenants weigh as given but their caps do not apply."""
    members = _members(rows)
    fair, usable = _entitle(budget, rows, members, tenants, capped)
    keys = [row[0] for row in rows]
    demands = [row[3] for row in rows]
    limit = DEFICIT_LIMIT
    # Carry clamped to the limit, spelt out: a thousand claims a tick.
    credits = [
        entitled + (-limit if d < -limit else limit if d > limit else d)
        for entitled, d in zip(fair, map(deficits.get, keys, repeat(0.0)), strict=True)
    ]
    quantum = CREDIT_QUANTUM
    whole = _integerize(
        min(budget, usable),
        [round(credit * quantum) for credit in credits],
        demands,
        [row[1] for row in rows],
        members,
        {key: _cap(tenants.get(key), capped) for key in members},
    )
    carry = {
        key: -limit if d < -limit else limit if d > limit else d
        for key, credit, share, demand in zip(keys, credits, whole, demands, strict=True)
        if demand > 0
        for d in (credit - share,)
    }
    return dict(zip(keys, whole, strict=True)), carry, fair


def _rows(claims: Sequence[Claim]) -> list[Row]:
    rows = by_key((claim.key, claim.group, claim.weight, claim.demand) for claim in claims)
    unique([row[0] for row in rows])
    return rows


def _members(rows: Sequence[Row]) -> dict[str, list[int]]:
    """Each group's rows (their indices, in key order), groups in the order first seen."""
    members: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        members.setdefault(row[1], []).append(index)
    return members


def _cap(group: Group | None, capped: bool) -> int | None:
    return group.cap if capped and group is not None else None


def _entitle(
    budget: float,
    rows: Sequence[Row],
    members: Mapping[str, list[int]],
    tenants: Mapping[str, Group],
    capped: bool,
) -> tuple[list[float], int]:
    """Each row's entitlement, and the demand all tenants together can use."""
    parties: list[tuple[str, float, float]] = []
    usable = 0
    for key, indices in members.items():
        group = tenants.get(key)
        demand = sum([rows[index][3] for index in indices])
        cap = _cap(group, capped)
        if cap is not None:
            demand = min(cap, demand)
        usable += demand
        parties.append((key, 1.0 if group is None else group.weight, demand))
    tenant_shares = _water_fill(budget, parties)
    weights = [row[2] for row in rows]
    demands = [float(row[3]) for row in rows]
    per_weight = [demand / weight for demand, weight in zip(demands, weights, strict=True)]
    fair = [0.0] * len(rows)
    for key, indices in members.items():
        # Stable: rows of equal demand per weight stay in key order, as `_water_fill` orders.
        order = sorted(indices, key=per_weight.__getitem__)
        weight_left = list(accumulate(weights[index] for index in reversed(order)))[::-1]
        left = tenant_shares[key]
        for at, index in enumerate(order):
            level = left / weight_left[at]
            if per_weight[index] <= level:
                fair[index] = demands[index]
                left = max(0.0, left - demands[index])
                continue
            for rest in order[at:]:
                fair[rest] = level * weights[rest]
            break
    return fair, usable


def _water_fill(amount: float, parties: Sequence[tuple[str, float, float]]) -> dict[str, float]:
    """Max-min fair split of `amount` over (key, weight, demand) parties.

    Parties needing less per weight than the common level get all they need; the rest share
    what is left in proportion to weight. Visiting parties by demand per weight finds the level
    in one pass. (`_entitle` does the same for each tenant's claims over their indices.)
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
    members: Mapping[str, Sequence[int]],
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
    quantum = CREDIT_QUANTUM
    # max(0, min(demand, credit // quantum)), without the calls: a thousand claims a tick.
    shares = [
        0 if credit < 0 else demand if (whole := credit // quantum) > demand else whole
        for credit, demand in zip(credits, demands, strict=True)
    ]
    room: dict[str, int | None] = {}
    for group, indices in members.items():
        cap = caps[group]
        if cap is None:
            room[group] = None
            continue
        held = sum(shares[index] for index in indices)
        if held > cap:
            _take_back(shares, credits, indices, held - cap)
            held = cap
        room[group] = cap - held
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
    size = len(shares)
    # Every claim with room as one whole number, owed * size + index, so that they order as
    # (owed, index) do; owed is -_unmet(credit, share).
    coded = [
        (share * quantum - credit) * size + i
        for i, (credit, share, demand) in enumerate(zip(credits, shares, demands, strict=True))
        if share < demand
    ]
    if count <= len(coded) and all(left is None for left in room.values()):
        # No caps: the units go in the order of (owed, index) over every claim's next units.
        # When the `count` first ones all come before any claim's second (their owed amounts
        # lie within one quantum: the usual case, every claim rounded down), each of those
        # claims gets one, found by one sort instead of a heap loop.
        first = sorted(coded)[:count]
        if first and first[-1] // size < first[0] // size + quantum:
            for code in first:
                shares[code % size] += 1
            return
    heap = [divmod(code, size) for code in coded]
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
