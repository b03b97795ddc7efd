"""One dialler tick's plan: split the slots between campaigns, pace each one, then split each
trunk's dial budget between the campaigns on it.

The live dialler and the simulator both call `plan_tick` with what they observe, so whatever
is measured in the simulator is what runs in production.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

import attrs

from voxcore_domain.estimators import CampaignSnapshot
from voxcore_domain.fairshare import (
    Group,
    Row,
    allocate,
    by_key,
    check_budget,
    check_deficits,
    checked,
    tenant_table,
    unique,
)
from voxcore_domain.model import PacingMode
from voxcore_domain.pacing import (
    Pacer,
    PacerMemory,
    PacingDecision,
    corrected,
    pace,
    pacer_for,
)
from voxcore_domain.trunklimits import TrunkLoad, dial_budget


@attrs.frozen
class CampaignLoad:
    """One running campaign at the start of a tick."""

    campaign_id: str
    tenant_id: str
    mode: PacingMode
    stats: CampaignSnapshot
    busy_elapsed: tuple[float, ...]
    """Seconds each of its calls holding a slot has lasted."""
    ringing_elapsed: tuple[float, ...]
    """Seconds each of its dials in flight has rung."""
    waiting: int = 0
    """Answered, not yet attached."""
    weight: float = 1.0
    max_concurrency: int | None = None
    abandon_target: float = 0.03
    ring_timeout_s: float = 25.0
    available: int | None = None
    """Contacts it could dial now, if known; None when plenty."""
    trunk_id: str | None = None
    """The trunk its calls go out on; None: no trunk limits this campaign."""


@attrs.frozen
class PlanMemory:
    """What the planner carries between ticks: fair-share deficits and each pacer's memory."""

    slot_deficits: Mapping[str, float] = attrs.field(factory=dict)
    dial_deficits: Mapping[str, float] = attrs.field(factory=dict)
    pacers: Mapping[str, PacerMemory] = attrs.field(factory=dict)


@attrs.frozen
class TickPlan:
    dials: Mapping[str, int]
    """New dials per campaign this tick."""
    slots: Mapping[str, int]
    """Slots each campaign was given to fill."""
    decisions: Mapping[str, PacingDecision]
    memory: PlanMemory
    trunk_budgets: Mapping[str, int] = attrs.field(factory=dict)
    """Most new dials each trunk took this tick (what its campaigns shared)."""
    paused: bool = False
    """The platform-wide pause was on: no dials at all."""


Paced = tuple[int, PacerMemory, float, float, float]
"""A campaign's decision as `pacing.pace` gives it: dials, memory, correction, allowance, risk."""


class Decisions(Mapping[str, PacingDecision]):
    """Each campaign's pacing decision, built when asked for: a tick keeps them as tuples of
    their fields, and the dialler reads only the dials (a `PacingDecision` and a `PacerMemory`
    per campaign cost ~1 ms a tick at 1,000 campaigns, their `__init__`s run interpreted)."""

    __slots__ = ("_rows",)

    def __init__(self, rows: Mapping[str, Paced]) -> None:
        self._rows = rows

    def __getitem__(self, campaign_id: str) -> PacingDecision:
        dials, memory, correction, allowance, risk = self._rows[campaign_id]
        return PacingDecision(dials, corrected(memory, correction), allowance, risk)

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return repr(dict(self))


class PacerMemories(Mapping[str, PacerMemory]):
    """Each campaign's pacer memory after a tick, built when asked for: the next tick reads
    `carried` instead, each memory as the one it started from and the correction learned
    since (`pacing.corrected`)."""

    __slots__ = ("carried",)

    def __init__(self, carried: Mapping[str, tuple[PacerMemory, float]]) -> None:
        self.carried = carried

    def __getitem__(self, campaign_id: str) -> PacerMemory:
        return corrected(*self.carried[campaign_id])

    def __iter__(self) -> Iterator[str]:
        return iter(self.carried)

    def __len__(self) -> int:
        return len(self.carried)

    def __repr__(self) -> str:
        return repr(dict(self))


def _carried(pacers: Mapping[str, PacerMemory]) -> Mapping[str, tuple[PacerMemory, float]]:
    """What `PacerMemories` carries, from a tick's own or from any mapping of memories (the
    dialler's first tick, a test's)."""
    if isinstance(pacers, PacerMemories):
        return pacers.carried
    return {key: (m, m.correction) for key, m in pacers.items()}


_FIRST_TICK = PacerMemory()
"""A campaign's pacer memory before its first tick (frozen: one serves them all)."""


def plan_tick(
    now: float,
    pool_slots: int,
    campaigns: Sequence[CampaignLoad],
    tenants: Mapping[str, Group] | None = None,
    dial_budget: int | None = None,
    memory: PlanMemory | None = None,
    tick_s: float = 2.0,
    trunks: Mapping[str, TrunkLoad] | None = None,
    paused: bool = False,
    strategies: Callable[[PacingMode], Pacer] = pacer_for,
) -> TickPlan:
    """Plan one tick for the campaigns sharing a pool of `pool_slots` live slots.

    `tenants` weigh tenants against each other and cap the slots all of a tenant's campaigns
    hold together (`Group.cap`: the tenant's max concurrency). `trunks` gives each trunk's
    limits and state: a trunk never gets more new dials than `trunklimits.dial_budget` allows,
    split fairly (tenant, then campaign weights) between its campaigns; a campaign naming a
    trunk missing from it dials nothing, one naming none is not limited. None: trunks are not
    limited. `dial_budget` caps the tick's
    new dials in all; None for no cap. `paused`: the platform-wide pause, no new dials at all
    (calls in progress are not the planner's to stop). `strategies`: the strategy for each
    campaign's pacing mode (`pacing.pacer_for`; the bench swaps in the plain formulas to time
    against).
    """
    memory = memory or PlanMemory()
    tenants = tenants or {}
    # A campaign whose trunk takes no dial this tick cannot use more slots than it holds: the
    # rest of its share goes to campaigns that can dial.
    closed = _closed(campaigns, trunks, now, tick_s) if trunks is not None and not paused else set()
    # The claims are plain rows, checked as a `Claim` checks its fields and split as
    # `fair_share` splits validated claims (`fairshare.allocate`); the tenants are tabled once
    # for every split of the tick.
    pool = max(0, pool_slots)
    rows, held = _slot_rows(campaigns, pool, closed)
    check_budget(pool)
    check_deficits(memory.slot_deficits)
    unique([row[0] for row in rows])
    table = tenant_table(tenants)
    slot_shares, slot_carry, _ = allocate(pool, by_key(rows), table, memory.slot_deficits)
    slots = _fit_to_pool(pool_slots, rows, held, slot_shares)

    # Each decision as a `Paced` tuple of its fields: `TickPlan.decisions` builds a
    # `PacingDecision` only for a campaign it is asked about, `PlanMemory.pacers` likewise a
    # `PacerMemory`.
    paced: dict[str, Paced] = {}
    carried = _carried(memory.pacers)
    first = (_FIRST_TICK, _FIRST_TICK.correction)
    for c in campaigns:
        remembered, correction = carried.get(c.campaign_id, first)
        row = pace(
            strategies(c.mode),
            now,
            slots[c.campaign_id],
            c.busy_elapsed,
            c.ringing_elapsed,
            c.waiting,
            c.stats,
            c.abandon_target,
            c.ring_timeout_s,
            tick_s,
            c.available,
            remembered,
            correction,
        )
        if c.available is not None and c.available < row[0]:
            row = (c.available, *row[1:])
        paced[c.campaign_id] = row
    decisions = Decisions(paced)
    pacers = PacerMemories({key: (row[1], row[2]) for key, row in paced.items()})
    if paused:
        # Deficits stay as they were: a pause banks no credit for anyone.
        return TickPlan(
            dials={c.campaign_id: 0 for c in campaigns},
            slots=slots,
            decisions=decisions,
            memory=PlanMemory(slot_carry, memory.dial_deficits, pacers),
            paused=True,
        )
    # A tenant's cap is on the calls it holds, not on dials: a predictive campaign may dial
    # more numbers than it has slots, so the dial splits weigh tenants but do not cap them.
    wanted = {c.campaign_id: paced[c.campaign_id][0] for c in campaigns}
    deficits = dict(memory.dial_deficits)
    budgets: dict[str, int] = {}
    if trunks is not None:
        wanted, budgets = _split_trunks(
            now, tick_s, campaigns, wanted, trunks, table, deficits, closed
        )
        if dial_budget is None:
            # Every trunk's split is final: nothing left to share.
            return TickPlan(
                dials=wanted,
                slots=slots,
                decisions=decisions,
                memory=PlanMemory(slot_carry, deficits, pacers),
                trunk_budgets=budgets,
            )
    total = sum(wanted.values())
    dial_rows = checked(
        [(c.campaign_id, c.tenant_id, c.weight, wanted[c.campaign_id]) for c in campaigns]
    )
    budget = total if dial_budget is None else min(dial_budget, total)
    dial_credit = deficits if trunks is None else {}
    check_budget(budget)
    check_deficits(dial_credit)
    dials, dial_carry, _ = allocate(budget, by_key(dial_rows), table, dial_credit, capped=False)
    if trunks is None:
        deficits = dial_carry
    return TickPlan(
        dials=dials,
        slots=slots,
        decisions=decisions,
        memory=PlanMemory(slot_deficits=slot_carry, dial_deficits=deficits, pacers=pacers),
        trunk_budgets=budgets,
    )


def _split_trunks(
    now: float,
    tick_s: float,
    campaigns: Sequence[CampaignLoad],
    wanted: Mapping[str, int],
    trunks: Mapping[str, TrunkLoad],
    tenants: Mapping[str, Group],
    deficits: dict[str, float],
    closed: set[str],
) -> tuple[dict[str, int], dict[str, int]]:
    """Each trunk's budget split between its campaigns; the dials each may place, and the
    budgets. Updates `deficits` with each campaign's carry. `closed`: the trunks `_closed`
    found taking no dial this tick."""
    on_trunk: dict[str, list[CampaignLoad]] = {}
    allowed = dict.fromkeys(wanted, 0)
    for c in campaigns:
        if c.trunk_id is None:
            allowed[c.campaign_id] = wanted[c.campaign_id]
        elif c.trunk_id in trunks:
            on_trunk.setdefault(c.trunk_id, []).append(c)
        else:
            # Its trunk is unknown (deleted, or not this tenant's): nothing can be dialled.
            deficits.pop(c.campaign_id, None)
    budgets: dict[str, int] = {}
    for trunk_id, members in on_trunk.items():
        asking = [c for c in members if wanted[c.campaign_id] > 0]
        if len(asking) < len(members):
            for c in members:
                if wanted[c.campaign_id] <= 0:
                    # As `fair_share` does: a claim with no demand carries nothing.
                    deficits.pop(c.campaign_id, None)
        demand = sum([wanted[c.campaign_id] for c in asking])
        # A closed trunk takes no dial, however many are asked for.
        budget = (
            0
            if demand <= 0 or trunk_id in closed
            else dial_budget(trunks[trunk_id], now, tick_s, demand)
        )
        budgets[trunk_id] = budget
        if budget >= demand:
            # Enough for everyone: each gets what it asks and keeps its carry.
            for c in asking:
                allowed[c.campaign_id] = wanted[c.campaign_id]
            continue
        rows = checked(
            [(c.campaign_id, c.tenant_id, c.weight, wanted[c.campaign_id]) for c in asking]
        )
        carried = {c.campaign_id: deficits.get(c.campaign_id, 0.0) for c in asking}
        check_deficits(carried)
        shares, carry, _ = allocate(budget, by_key(rows), tenants, carried, capped=False)
        allowed.update(shares)
        deficits.update(carry)
    return allowed, budgets


def _closed(
    campaigns: Sequence[CampaignLoad], trunks: Mapping[str, TrunkLoad], now: float, tick_s: float
) -> set[str]:
    """The trunks named by campaigns that take no dial this tick (or are unknown)."""
    named = {c.trunk_id for c in campaigns if c.trunk_id is not None}
    return {
        key for key in named if key not in trunks or dial_budget(trunks[key], now, tick_s, 1) <= 0
    }


def _slot_rows(
    campaigns: Sequence[CampaignLoad], pool: int, closed: set[str]
) -> tuple[list[Row], list[int]]:
    """Each campaign's claim on the pool (in the campaigns' order, checked), and the slots it
    holds with its calls and answers."""
    rows: list[Row] = []
    held: list[int] = []
    for c in campaigns:
        busy = len(c.busy_elapsed) + c.waiting
        held.append(busy)
        demand = pool
        if c.max_concurrency is not None:
            demand = min(demand, c.max_concurrency)
        holding = busy + len(c.ringing_elapsed)
        if c.trunk_id in closed:
            demand = min(demand, holding)
        if c.available is not None:
            # A campaign about to run out of contacts cannot use more slots than it has calls for.
            demand = min(demand, holding + c.available)
        rows.append((c.campaign_id, c.tenant_id, c.weight, demand))
    return checked(rows), held


def _fit_to_pool(
    pool_slots: int, rows: Sequence[Row], held: Sequence[int], shares: Mapping[str, int]
) -> dict[str, int]:
    """Shares of a shared pool: an answered call takes any free slot, so one campaign may hold
    more than its share for a while. The free slots the others see must then add up to what is
    really free, or they would all dial for the same slot. `rows` and `held`: the campaigns'
    claims and the slots they hold, in the campaigns' order."""
    keys = [row[0] for row in rows]
    given = [shares[key] for key in keys]
    own_free = [
        share - holds if share > holds else 0 for share, holds in zip(given, held, strict=True)
    ]
    really_free = max(0, pool_slots - sum(held))
    total = sum(own_free)
    if total > really_free:
        own_free = [free * really_free // total for free in own_free]
    # A campaign over its share keeps a negative free count: its own ending calls pay that back
    # before it dials again.
    return dict(
        zip(
            keys,
            [
                (holds if holds < share else share) + free
                for share, holds, free in zip(given, held, own_free, strict=True)
            ],
            strict=True,
        )
    )
