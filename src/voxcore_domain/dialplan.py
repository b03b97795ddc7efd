"""One dialler tick's plan: split the slots between campaigns, pace each one, then split each
trunk's dial budget between the campaigns on it.

The live dialler and the simulator both call `plan_tick` with what they observe, so whatever
is measured in the simulator is what runs in production.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

import attrs

from voxcore_domain.estimators import CampaignSnapshot
from voxcore_domain.fairshare import Claim, Group, fair_share
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


Row = tuple[int, PacerMemory, float, float, float]
"""A campaign's decision as `pacing.pace` gives it: dials, memory, correction, allowance, risk."""


class Decisions(Mapping[str, PacingDecision]):
    """Each campaign's pacing decision, built when asked for: a tick keeps them as tuples of
    their fields, and the dialler reads only the dials (a `PacingDecision` and a `PacerMemory`
    per campaign cost ~1 ms a tick at 1,000 campaigns, their `__init__`s run interpreted)."""

    __slots__ = ("_rows",)

    def __init__(self, rows: Mapping[str, Row]) -> None:
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
    stopped = (
        _stopped(campaigns, trunks, now, tick_s) if trunks is not None and not paused else set()
    )
    slot_split = fair_share(
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
    slots = _fit_to_pool(pool_slots, campaigns, slot_split.shares)

    # Each decision as a `Row` of its fields: `TickPlan.decisions` builds a `PacingDecision`
    # only for a campaign it is asked about, `PlanMemory.pacers` likewise a `PacerMemory`.
    rows: dict[str, Row] = {}
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
        rows[c.campaign_id] = row
    decisions = Decisions(rows)
    pacers = PacerMemories({key: (row[1], row[2]) for key, row in rows.items()})
    if paused:
        # Deficits stay as they were: a pause banks no credit for anyone.
        return TickPlan(
            dials={c.campaign_id: 0 for c in campaigns},
            slots=slots,
            decisions=decisions,
            memory=PlanMemory(slot_split.deficits, memory.dial_deficits, pacers),
            paused=True,
        )
    # A tenant's cap is on the calls it holds, not on dials: a predictive campaign may dial
    # more numbers than it has slots, so the dial splits weigh tenants but do not cap them.
    weights = {key: attrs.evolve(group, cap=None) for key, group in tenants.items()}
    wanted = {c.campaign_id: rows[c.campaign_id][0] for c in campaigns}
    deficits = dict(memory.dial_deficits)
    budgets: dict[str, int] = {}
    if trunks is not None:
        wanted, budgets = _split_trunks(now, tick_s, campaigns, wanted, trunks, weights, deficits)
        if dial_budget is None:
            # Every trunk's split is final: nothing left to share.
            return TickPlan(
                dials=wanted,
                slots=slots,
                decisions=decisions,
                memory=PlanMemory(slot_split.deficits, deficits, pacers),
                trunk_budgets=budgets,
            )
    total = sum(wanted.values())
    dial_split = fair_share(
        total if dial_budget is None else min(dial_budget, total),
        [Claim(c.campaign_id, c.tenant_id, c.weight, wanted[c.campaign_id]) for c in campaigns],
        weights,
        deficits if trunks is None else {},
    )
    if trunks is None:
        deficits = dict(dial_split.deficits)
    return TickPlan(
        dials=dict(dial_split.shares),
        slots=slots,
        decisions=decisions,
        memory=PlanMemory(slot_deficits=slot_split.deficits, dial_deficits=deficits, pacers=pacers),
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
) -> tuple[dict[str, int], dict[str, int]]:
    """Each trunk's budget split between its campaigns; the dials each may place, and the
    budgets. Updates `deficits` with each campaign's carry."""
    on_trunk: dict[str, list[CampaignLoad]] = {}
    allowed = {c.campaign_id: 0 for c in campaigns}
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
        for c in members:
            if wanted[c.campaign_id] <= 0:
                # As `fair_share` does: a claim with no demand carries nothing.
                deficits.pop(c.campaign_id, None)
        demand = sum(wanted[c.campaign_id] for c in asking)
        budget = dial_budget(trunks[trunk_id], now, tick_s, demand)
        budgets[trunk_id] = budget
        if budget >= demand:
            # Enough for everyone: each gets what it asks and keeps its carry.
            allowed.update({c.campaign_id: wanted[c.campaign_id] for c in asking})
            continue
        split = fair_share(
            budget,
            [Claim(c.campaign_id, c.tenant_id, c.weight, wanted[c.campaign_id]) for c in asking],
            tenants,
            {c.campaign_id: deficits.get(c.campaign_id, 0.0) for c in asking},
        )
        allowed.update(split.shares)
        deficits.update(split.deficits)
    return allowed, budgets


def _stopped(
    campaigns: Sequence[CampaignLoad], trunks: Mapping[str, TrunkLoad], now: float, tick_s: float
) -> set[str]:
    """Campaigns whose trunk takes no dial this tick (or is unknown)."""
    open_trunks = {key for key, load in trunks.items() if dial_budget(load, now, tick_s, 1) > 0}
    return {
        c.campaign_id for c in campaigns if c.trunk_id is not None and c.trunk_id not in open_trunks
    }


def _slot_demand(campaign: CampaignLoad, pool_slots: int, stopped: bool = False) -> int:
    demand = max(0, pool_slots)
    if campaign.max_concurrency is not None:
        demand = min(demand, campaign.max_concurrency)
    holding = len(campaign.busy_elapsed) + campaign.waiting + len(campaign.ringing_elapsed)
    if stopped:
        demand = min(demand, holding)
    if campaign.available is not None:
        # A campaign about to run out of contacts cannot use more slots than it has calls for.
        demand = min(demand, holding + campaign.available)
    return demand


def _fit_to_pool(
    pool_slots: int, campaigns: Sequence[CampaignLoad], shares: Mapping[str, int]
) -> dict[str, int]:
    """Shares of a shared pool: an answered call takes any free slot, so one campaign may hold
    more than its share for a while. The free slots the others see must then add up to what is
    really free, or they would all dial for the same slot."""
    held = {c.campaign_id: len(c.busy_elapsed) + c.waiting for c in campaigns}
    own_free = {key: max(0, shares.get(key, 0) - held[key]) for key in held}
    really_free = max(0, pool_slots - sum(held.values()))
    total = sum(own_free.values())
    if total > really_free:
        own_free = {key: free * really_free // total for key, free in own_free.items()}
    # A campaign over its share keeps a negative free count: its own ending calls pay that back
    # before it dials again.
    return {key: min(shares.get(key, 0), held[key]) + own_free[key] for key in held}
