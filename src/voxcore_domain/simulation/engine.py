"""Event-driven simulation of a dialler tick loop against a callee model.

Between ticks, call events (answer, ring-out, hang-up, give-up) are processed in time order
from a heap; every `TICK_S` the planner — the same `plan_tick` the live dialler calls — decides
the new dials from what a dialler could observe: slots, calls in progress, dials ringing and
the campaign statistics fed by those same events.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from datetime import UTC, datetime

import attrs

from voxcore_domain.dialplan import CampaignLoad, PlanMemory, plan_tick
from voxcore_domain.estimators import CampaignStats
from voxcore_domain.fairshare import Group
from voxcore_domain.model import Disposition, PacingMode
from voxcore_domain.pacing import GRACE_S
from voxcore_domain.simulation.report import Figures, Minute, SimulationReport
from voxcore_domain.simulation.scenario import CampaignSpec, Scenario, TrunkSpec
from voxcore_domain.trunklimits import TrunkLoad, TrunkState
from voxcore_domain.trunks import Trunk

TICK_S = 2.0
"""The live dialler's LOOP_INTERVAL_SECONDS."""
EPOCH = datetime(2026, 1, 5, 8, 0, tzinfo=UTC).timestamp()
"""Simulated time 0: a Monday, 08:00 UTC (the clock only matters to the daily counters)."""

_ANSWER, _RING_OUT, _HANG_UP, _GIVE_UP = range(4)


@attrs.define
class _Call:
    campaign: _Campaign
    dialed_at: float
    person: bool
    """A person answers (else a machine, or nobody if it rings out)."""
    answered_at: float = 0.0
    attached_at: float = 0.0


@attrs.define
class _Campaign:
    spec: CampaignSpec
    answer_rate: float
    talk_mu: float
    talk_sigma: float
    stats: CampaignStats
    ringing: dict[int, float] = attrs.field(factory=dict)
    busy: dict[int, float] = attrs.field(factory=dict)
    waiting: int = 0
    dials: int = 0
    live_answers: int = 0
    abandoned: int = 0
    machine_answers: int = 0
    busy_seconds: float = 0.0
    hourly: dict[int, list[int]] = attrs.field(factory=dict)
    """Clock hour of the answer → [live answers, abandoned]."""

    def count_hour(self, hour: int, answers: int, abandons: int) -> None:
        counts = self.hourly.setdefault(hour, [0, 0])
        counts[0] += answers
        counts[1] += abandons


@attrs.define
class _Run:
    """The mutable state of one run."""

    scenario: Scenario
    rng: random.Random
    campaigns: list[_Campaign]
    slots: int
    events: list[tuple[float, int, int, int]] = attrs.field(factory=list)
    calls: dict[int, _Call] = attrs.field(factory=dict)
    waiting: dict[int, float] = attrs.field(factory=dict)
    """Answered calls waiting for a slot, in answer order → give-up time."""
    busy: int = 0
    clock: float = 0.0
    busy_seconds: float = 0.0
    available_seconds: float = 0.0
    _ids: itertools.count[int] = attrs.field(factory=itertools.count)

    def advance(self, t: float) -> None:
        dt = t - self.clock
        if dt > 0:
            self.busy_seconds += self.busy * dt
            self.available_seconds += max(self.slots, self.busy) * dt
            for c in self.campaigns:
                c.busy_seconds += len(c.busy) * dt
            self.clock = t

    def push(self, t: float, kind: int, call_id: int) -> None:
        heapq.heappush(self.events, (t, next(self._ids), kind, call_id))

    # -- the callee model ------------------------------------------------------------------

    def dial(self, c: _Campaign, t: float) -> None:
        s = self.scenario
        call_id = next(self._ids)
        answer_rate = c.answer_rate * _scale(s.answer_rate_at(t / 3600.0), s.answer_rate)
        u = self.rng.random()
        person = u < answer_rate
        self.calls[call_id] = _Call(c, t, person)
        c.ringing[call_id] = t
        c.dials += 1
        if u < answer_rate + s.machine_rate:
            m, limit = s.mean_answer_delay_s, s.ring_timeout_s
            delay = -m * math.log(1.0 - self.rng.random() * (1.0 - math.exp(-limit / m)))
            self.push(t + delay, _ANSWER, call_id)
        else:
            self.push(t + s.ring_timeout_s, _RING_OUT, call_id)

    def handle_time(self, c: _Campaign, call: _Call) -> float:
        if not call.person:
            return self.scenario.voicemail_s
        if c.talk_sigma == 0.0:
            return math.exp(c.talk_mu)
        return self.rng.lognormvariate(c.talk_mu, c.talk_sigma)

    # -- events ------------------------------------------------------------------------------

    def handle(self, kind: int, call_id: int, t: float) -> None:
        if kind == _GIVE_UP and call_id not in self.waiting:
            return  # a worker took it in time
        call = self.calls[call_id]
        c = call.campaign
        now = EPOCH + t
        if kind == _ANSWER:
            del c.ringing[call_id]
            c.stats.dial_resolved(True, t - call.dialed_at, now)
            call.answered_at = t
            if call.person:
                c.live_answers += 1
                c.count_hour(int(t // 3600), 1, 0)
            if self.busy < self.slots:
                self.attach(call_id, t)
            else:
                self.waiting[call_id] = t + GRACE_S
                c.waiting += 1
                self.push(t + GRACE_S, _GIVE_UP, call_id)
        elif kind == _RING_OUT:
            del c.ringing[call_id]
            c.stats.dial_resolved(False, t - call.dialed_at, now)
            del self.calls[call_id]
        elif kind == _HANG_UP:
            self.busy -= 1
            del c.busy[call_id]
            disposition = Disposition.COMPLETED if call.person else Disposition.VOICEMAIL
            c.stats.call_ended(disposition, t - call.attached_at, now)
            del self.calls[call_id]
            self.attach_waiting(t)
        elif kind == _GIVE_UP:
            del self.waiting[call_id]
            c.waiting -= 1
            c.abandoned += 1
            # Nobody can tell a machine from a person before a worker takes the call.
            if not call.person:
                c.live_answers += 1
            c.count_hour(int(call.answered_at // 3600), 0 if call.person else 1, 1)
            c.stats.call_ended(Disposition.ABANDONED, None, now)
            del self.calls[call_id]

    def attach(self, call_id: int, t: float) -> None:
        call = self.calls[call_id]
        c = call.campaign
        self.busy += 1
        c.busy[call_id] = t
        call.attached_at = t
        if not call.person:
            c.machine_answers += 1
        self.push(t + self.handle_time(c, call), _HANG_UP, call_id)

    def attach_waiting(self, t: float) -> None:
        while self.waiting and self.busy < self.slots:
            call_id = next(iter(self.waiting))
            del self.waiting[call_id]
            self.calls[call_id].campaign.waiting -= 1
            self.attach(call_id, t)


def _trunk(spec: TrunkSpec) -> Trunk:
    return Trunk(
        spec.name, "simulation", spec.name, spec.name, cps=spec.cps, channels=spec.channels
    )


def _trunk_loads(
    run: _Run, trunks: dict[str, Trunk], states: dict[str, TrunkState]
) -> dict[str, TrunkLoad]:
    in_use = dict.fromkeys(trunks, 0)
    for c in run.campaigns:
        if c.spec.trunk is not None:
            in_use[c.spec.trunk] += len(c.ringing) + c.waiting + len(c.busy)
    return {name: TrunkLoad(trunk, states[name], in_use[name]) for name, trunk in trunks.items()}


def _scale(now_value: float, base: float) -> float:
    return now_value / base if base > 0 else 0.0


def _campaign(scenario: Scenario, spec: CampaignSpec) -> _Campaign:
    mean = spec.mean_talk_s or scenario.mean_talk_s
    sigma = math.sqrt(math.log(1.0 + scenario.talk_cv**2))
    answer_rate = scenario.answer_rate if spec.answer_rate is None else spec.answer_rate
    return _Campaign(
        spec=spec,
        answer_rate=answer_rate,
        talk_mu=math.log(mean) - sigma * sigma / 2.0,
        talk_sigma=sigma,
        stats=CampaignStats(ring_timeout_s=scenario.ring_timeout_s),
    )


def simulate(scenario: Scenario, strategy: str = "predictive") -> SimulationReport:
    """Run `scenario` with one pacing strategy (`preview`, `progressive`, `ratio:<R>`,
    `vicidial`, `predictive`) applied to every campaign."""
    mode = PacingMode.parse(strategy)
    specs = scenario.campaign_specs()
    run = _Run(
        scenario=scenario,
        rng=random.Random(scenario.seed),
        campaigns=[_campaign(scenario, spec) for spec in specs],
        slots=scenario.slots_at(0.0),
    )
    tenants = {spec.tenant: Group(spec.tenant) for spec in specs}
    tenants.update({t.name: Group(t.name, t.weight, t.max_concurrency) for t in scenario.tenants})
    trunks = {t.name: _trunk(t) for t in scenario.trunks}
    trunk_states = {name: TrunkState() for name in trunks}
    memory = PlanMemory()
    end = scenario.hours * 3600.0
    timeline: list[Minute] = []
    marks = _Marks()

    tick = 0.0
    while tick < end:
        while run.events and run.events[0][0] <= tick:
            t, _, kind, call_id = heapq.heappop(run.events)
            run.advance(t)
            run.handle(kind, call_id, t)
        run.advance(tick)
        run.slots = scenario.slots_at(tick / 3600.0)
        run.attach_waiting(tick)
        if tick > 0 and tick % 60.0 == 0.0:
            timeline.append(marks.minute(run, int(tick // 60) - 1))

        now = EPOCH + tick
        loads = []
        for c in run.campaigns:
            busy_elapsed = tuple(tick - a for a in c.busy.values())
            load = CampaignLoad(
                campaign_id=c.spec.name,
                tenant_id=c.spec.tenant,
                mode=mode,
                stats=c.stats.snapshot(now, busy_elapsed),
                busy_elapsed=busy_elapsed,
                # A dial waiting for its trunk's token has not started ringing yet.
                ringing_elapsed=tuple(max(0.0, tick - d) for d in c.ringing.values()),
                waiting=c.waiting,
                weight=c.spec.weight,
                max_concurrency=c.spec.max_concurrency,
                abandon_target=scenario.abandon_target,
                ring_timeout_s=scenario.ring_timeout_s,
                trunk_id=c.spec.trunk,
            )
            loads.append(load)
        plan = plan_tick(
            now,
            run.slots,
            loads,
            tenants,
            None,
            memory,
            TICK_S,
            trunks=_trunk_loads(run, trunks, trunk_states) if trunks else None,
        )
        memory = plan.memory
        for c in run.campaigns:
            for _ in range(plan.dials[c.spec.name]):
                start = tick
                if c.spec.trunk is not None:
                    # Each dial waits for its trunk's token, as the dialler's dials do.
                    at, trunk_states[c.spec.trunk] = trunk_states[c.spec.trunk].reserve(
                        trunks[c.spec.trunk], now
                    )
                    start = at - EPOCH
                run.dial(c, start)
        tick += TICK_S

    while run.events and run.events[0][0] <= end:
        t, _, kind, call_id = heapq.heappop(run.events)
        run.advance(t)
        run.handle(kind, call_id, t)
    run.advance(end)
    if end > 0 and (not timeline or (timeline[-1].minute + 1) * 60.0 < end):
        timeline.append(marks.minute(run, math.ceil(end / 60.0) - 1))
    return _report(run, strategy, tuple(timeline))


@attrs.define
class _Marks:
    """Running totals at the last minute mark, to turn totals into per-minute figures."""

    busy_seconds: float = 0.0
    available_seconds: float = 0.0
    dials: int = 0
    live_answers: int = 0
    abandoned: int = 0

    def minute(self, run: _Run, minute: int) -> Minute:
        dials = sum(c.dials for c in run.campaigns)
        answers = sum(c.live_answers for c in run.campaigns)
        abandoned = sum(c.abandoned for c in run.campaigns)
        busy = run.busy_seconds - self.busy_seconds
        available = run.available_seconds - self.available_seconds
        record = Minute(
            minute=minute,
            slots=run.slots,
            busy=busy / 60.0,
            occupancy=busy / available if available > 0 else 0.0,
            dials=dials - self.dials,
            live_answers=answers - self.live_answers,
            abandoned=abandoned - self.abandoned,
        )
        self.busy_seconds, self.available_seconds = run.busy_seconds, run.available_seconds
        self.dials, self.live_answers, self.abandoned = dials, answers, abandoned
        return record


def _worst_hour(hourly: dict[int, list[int]]) -> float:
    return max(
        (abandons / answers for answers, abandons in hourly.values() if answers), default=0.0
    )


def _report(run: _Run, strategy: str, timeline: tuple[Minute, ...]) -> SimulationReport:
    available = run.available_seconds
    per_campaign = {
        c.spec.name: Figures(
            occupancy=c.busy_seconds / available if available else 0.0,
            abandon_rate=c.abandoned / c.live_answers if c.live_answers else 0.0,
            dials=c.dials,
            live_answers=c.live_answers,
            abandoned=c.abandoned,
            max_hourly_abandon_rate=_worst_hour(c.hourly),
            machine_answers=c.machine_answers,
        )
        for c in run.campaigns
    }
    hourly: dict[int, list[int]] = {}
    for c in run.campaigns:
        for hour, (answers, abandons) in c.hourly.items():
            total = hourly.setdefault(hour, [0, 0])
            total[0] += answers
            total[1] += abandons
    live_answers = sum(f.live_answers for f in per_campaign.values())
    abandoned = sum(f.abandoned for f in per_campaign.values())
    return SimulationReport(
        strategy=strategy,
        occupancy=run.busy_seconds / available if available else 0.0,
        abandon_rate=abandoned / live_answers if live_answers else 0.0,
        dials=sum(f.dials for f in per_campaign.values()),
        live_answers=live_answers,
        abandoned=abandoned,
        max_hourly_abandon_rate=_worst_hour(hourly),
        per_campaign=per_campaign,
        timeline=timeline,
        machine_answers=sum(f.machine_answers for f in per_campaign.values()),
    )
