"""How many new dials a campaign may start this tick.

Strategies: `preview` (none: an operator starts each call), `progressive` (one dial per free
slot), `ratio:R` (R dials per free slot), `vicidial` (a faithful baseline of VICIdial's adaptive
dial level) and `predictive` (ours). All take the same `PacingInput`, built the same way by the
live dialler and by the simulator.

The predictive rule in one paragraph: a new dial is worth placing while the chance that it is
answered and then finds no free slot stays under the abandon allowance. Slots free up from the
calls in progress (each one's chance of ending soon, given how long it has lasted, from the
measured handle-time distribution) and are taken by the answers of dials already ringing (each
one's remaining chance of being answered, given how long it has rung). Both sides are sums of
independent Bernoullis; the pacer compares them with a normal approximation at a few points of
the answer-time distribution and finds the largest number of dials that keeps the last one's
risk under the allowance. The allowance itself tracks the abandon target: it starts below it,
stays low enough that an hour's count of abandons stays under its ceiling despite chance, and
is corrected by the measured abandon rate.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Protocol

import attrs

from voxcore_domain.estimators import CampaignSnapshot, Durations
from voxcore_domain.model import PacingKind, PacingMode

GRACE_S = 2.0
"""An answered call may wait this long for a worker; after that it is abandoned (FCC: 2 s)."""


@attrs.frozen
class PacingInput:
    """A campaign's situation at the start of a tick."""

    now: float
    """POSIX seconds."""
    slots: int
    """Slots this campaign may fill: its fair share of the pool's live (non-draining) slots."""
    busy_elapsed: Sequence[float]
    """For each of its calls holding a slot: seconds since it was attached."""
    ringing_elapsed: Sequence[float]
    """For each of its dials not yet answered: seconds it has been ringing."""
    waiting: int
    """Answered calls not yet attached to a worker."""
    stats: CampaignSnapshot
    abandon_target: float
    ring_timeout_s: float
    tick_s: float = 2.0

    @property
    def free(self) -> int:
        """Slots free now; negative when the campaign holds more than its share."""
        return self.slots - len(self.busy_elapsed) - self.waiting


@attrs.frozen
class PacerMemory:
    """What a pacer carries from one tick to the next (one per campaign)."""

    level: float = 1.0
    """VICIdial's dial level: lines per agent."""
    level_adjusted_at: float | None = None
    correction: float = 1.0
    """Predictive: multiplier on the abandon allowance, learned from the measured rate."""


@attrs.frozen
class PacingDecision:
    dials: int
    memory: PacerMemory
    allowance: float = 0.0
    """Predictive: the abandon risk the last dial was allowed."""
    risk: float = 0.0
    """Predictive: the forecast chance that the last dial placed finds no slot."""


class Pacer(Protocol):
    def decide(self, situation: PacingInput, memory: PacerMemory) -> PacingDecision: ...


# -- the simple strategies -------------------------------------------------------------------


@attrs.frozen
class Preview:
    """No automatic dials: an operator or API starts each call."""

    def decide(self, situation: PacingInput, memory: PacerMemory) -> PacingDecision:
        return PacingDecision(0, memory)


@attrs.frozen
class Ratio:
    """Keep `ratio` dials ringing per free slot; `progressive` is ratio 1 and never abandons
    while capacity holds."""

    ratio: float = 1.0

    def decide(self, situation: PacingInput, memory: PacerMemory) -> PacingDecision:
        wanted = math.floor(self.ratio * max(0, situation.free) + 1e-9)
        return PacingDecision(max(0, wanted - len(situation.ringing_elapsed)), memory)


@attrs.frozen
class Vicidial:
    """VICIdial's adaptive dial level (AST_VDadapt / AST_VDauto_dial), as a baseline.

    Every `adapt_every_s` the level moves by the share of agents sitting ready:
    level <- clamp(level * (1 + intensity * (ready - waiting) / agents), 1, max_level), and drops
    to 1.0 while the drop rate since midnight is at or over the target (HARD_LIMIT). Each
    dispatch places round(level * agents) - live calls, live calls being those ringing, waiting
    or talking. Agents here are call slots.
    """

    adapt_every_s: float = 15.0
    intensity: float = 1.0
    max_level: float = 3.0

    def decide(self, situation: PacingInput, memory: PacerMemory) -> PacingDecision:
        agents = situation.slots
        if agents <= 0:
            return PacingDecision(0, memory)
        last = memory.level_adjusted_at
        if last is None or situation.now - last >= self.adapt_every_s:
            rates = situation.stats.abandon
            if rates.today_answers and rates.today >= situation.abandon_target:
                level = 1.0
            else:
                ready = max(0, situation.free)
                change = self.intensity * (ready - situation.waiting) / agents
                level = min(self.max_level, max(1.0, memory.level * (1.0 + change)))
            memory = attrs.evolve(memory, level=level, level_adjusted_at=situation.now)
        live = len(situation.busy_elapsed) + len(situation.ringing_elapsed) + situation.waiting
        return PacingDecision(max(0, round(memory.level * agents) - live), memory)


# -- predictive ----------------------------------------------------------------------------------

_SQRT2 = math.sqrt(2.0)


def _normal_tail_at_least(mean: float, variance: float) -> float:
    """P(X >= 0) for an integer-valued X with this mean and variance (continuity-corrected)."""
    if variance <= 1e-12:
        return 1.0 if mean > -0.5 else 0.0
    return 0.5 * math.erfc(-(mean + 0.5) / (_SQRT2 * math.sqrt(variance)))


def _answer_times(delay: Durations, ring_timeout_s: float, points: int) -> tuple[float, ...]:
    """Seconds after dialling by which a share u of eventually-answered dials is answered,
    for u at the midpoints of `points` equal slices: a quadrature over the answer time."""

    def compute() -> tuple[float, ...]:
        within = _answered_by(delay, ring_timeout_s, ring_timeout_s)
        quantiles: list[float] = []
        t, step = 0.0, 0.25
        for k in range(points):
            while t < ring_timeout_s and delay.cdf(t) / within < (k + 0.5) / points:
                t += step
            quantiles.append(min(t, ring_timeout_s))
        return tuple(quantiles)

    return delay.memo(("answer times", ring_timeout_s, points), compute)


def _answered_by(delay: Durations, ring_timeout_s: float, t: float) -> float:
    """P(answered within t | answered before the ring timeout)."""
    within = max(delay.cdf(ring_timeout_s), 1e-9)
    return min(1.0, delay.cdf(min(t, ring_timeout_s)) / within)


def _ringing_answers(
    delay: Durations, ring_timeout_s: float, rung_tenths: int, times: tuple[float, ...]
) -> tuple[float, tuple[float, ...]]:
    """For a dial that has rung this many tenths of a second: the share of answers already
    past, and the share that will have come by each of `times` from now."""

    def compute() -> tuple[float, tuple[float, ...]]:
        rung = rung_tenths / 10.0
        return _answered_by(delay, ring_timeout_s, rung), tuple(
            _answered_by(delay, ring_timeout_s, rung + t) for t in times
        )

    return delay.memo(("ringing", ring_timeout_s, rung_tenths, times), compute)


@attrs.frozen
class Predictive:
    """Ours: the largest number of dials whose last one's risk of finding no slot when answered
    stays under an allowance derived from the abandon target (see the module's docstring)."""

    aim: float = 0.8
    """Share of the target the allowance starts from: the margin for chance over a day."""
    hour_ceiling: float = 1.5
    """No hour should exceed this multiple of the target, even by chance."""
    hour_confidence_z: float = 2.5
    abandon_overdispersion: float = 2.0
    """Abandons come in clusters (one over-full moment drops several answers): their count
    varies this many times more than a Poisson count's."""
    answer_rate_z: float = 1.0
    """Plan with the answer rate this many standard deviations high (cautious when unsure)."""
    min_answer_rate: float = 0.02
    """Never plan with less: an estimate dragged down by a carrier outage's instant failures
    would otherwise unleash a flood of dials the moment the carrier recovers."""
    checkpoints: int = 3
    correction_time_s: float = 1800.0
    """Time constant of the feedback from the measured abandon rate."""
    correction_bounds: tuple[float, float] = (0.25, 3.0)
    feedback_prior_answers: float = 300.0
    """The measured last-hour rate is shrunk toward the aim as if this many answers had met it
    exactly: a small campaign's hour holds few answers, and chasing their noise makes the
    pacing swing."""
    min_answers_for_feedback: int = 30
    max_dials_per_tick: int = 100_000

    def allowance(self, situation: PacingInput, memory: PacerMemory) -> tuple[float, PacerMemory]:
        """The abandon risk a new dial may carry this tick, and the updated feedback."""
        target = situation.abandon_target
        stats = situation.stats
        rates = stats.abandon
        connects = stats.connects_per_hour
        if connects <= 0.0:
            connects = max(1, situation.slots) * 3600.0 / max(1.0, stats.handle_time.mean())
        # Keep an hour's mean count of abandons plus z standard deviations under the hour's
        # ceiling, the variance being `abandon_overdispersion` times the mean.
        ceiling = self.hour_ceiling * target * connects
        z = self.hour_confidence_z * math.sqrt(self.abandon_overdispersion)
        hourly_mean = ((-z + math.sqrt(z * z + 4.0 * ceiling)) / 2.0) ** 2
        hour_cap = hourly_mean / connects
        aim = min(self.aim * target, hour_cap)

        correction = memory.correction
        answers = rates.last_hour_answers
        if answers >= self.min_answers_for_feedback:
            prior = self.feedback_prior_answers
            measured = (rates.last_hour * answers + aim * prior) / (answers + prior)
            error = max(-2.0, min(1.0, (aim - measured) / aim))
            correction *= math.exp(error * situation.tick_s / self.correction_time_s)
            low, high = self.correction_bounds
            correction = max(low, min(high, correction))
        # The correction may raise the allowance toward the measured rate, never past what keeps
        # the hour under its ceiling.
        allowance = min(aim * correction, hour_cap)
        for rate, answers in (
            (rates.today, rates.today_answers),
            (rates.last_30_days, rates.last_30_days_answers),
        ):
            # Close to the regulators' limit: stop spending what is left of it.
            if answers >= self.min_answers_for_feedback and rate >= 0.9 * target:
                allowance = min(allowance, 0.25 * aim)
        return allowance, attrs.evolve(memory, correction=correction)

    def decide(self, situation: PacingInput, memory: PacerMemory) -> PacingDecision:
        allowance, memory = self.allowance(situation, memory)
        if situation.slots <= 0:
            return PacingDecision(0, memory, allowance)
        stats = situation.stats
        q = max(self.min_answer_rate, stats.answer_rate.planning(self.answer_rate_z))
        ring = situation.ring_timeout_s
        delay = stats.answer_delay
        talk = stats.handle_time
        times = _answer_times(delay, ring, self.checkpoints)

        # Calls in progress, grouped by whole seconds elapsed: each may free its slot by the
        # time a new dial is answered, plus the grace an answered call may wait.
        horizons = tuple(round(t + GRACE_S) for t in times)
        free_mean = [float(situation.free)] * len(times)
        free_var = [0.0] * len(times)
        for e, count in Counter(map(int, situation.busy_elapsed)).items():
            for k, p in enumerate(talk.endings(e, horizons)):
                free_mean[k] += count * p
                free_var[k] += count * p * (1.0 - p)

        # Dials ringing, grouped by tenths of a second rung: each may be answered by then.
        ans_mean = [float(situation.waiting)] * len(times)
        ans_var = [0.0] * len(times)
        for tenths, count in Counter(round(r * 10) for r in situation.ringing_elapsed).items():
            g0, by_then = _ringing_answers(delay, ring, tenths, times)
            still = 1.0 - q * g0
            for k, g1 in enumerate(by_then):
                h = 0.0 if still <= 1e-12 else q * (g1 - g0) / still
                ans_mean[k] += count * h
                ans_var[k] += count * h * (1.0 - h)

        base = [  # per checkpoint: mean of (answers - frees), its variance, a new dial's answer
            (ans_mean[k] - free_mean[k], ans_var[k] + free_var[k], q * _answered_by(delay, ring, t))
            for k, t in enumerate(times)
        ]

        def risk(n: int) -> float:
            """Chance that the n-th new dial, once answered, finds every slot taken."""
            others = n - 1
            total = 0.0
            for mean, var, c in base:
                total += _normal_tail_at_least(mean + others * c, var + others * c * (1.0 - c))
            return total / len(base)

        if risk(1) > allowance:
            return PacingDecision(0, memory, allowance, risk(1))
        low, high = 1, 2
        while high <= self.max_dials_per_tick and risk(high) <= allowance:
            low, high = high, high * 2
        high = min(high, self.max_dials_per_tick + 1)
        while high - low > 1:
            mid = (low + high) // 2
            if risk(mid) <= allowance:
                low = mid
            else:
                high = mid
        return PacingDecision(low, memory, allowance, risk(low))


def pacer_for(mode: PacingMode) -> Pacer:
    """The strategy a campaign's pacing mode names."""
    match mode.kind:
        case PacingKind.PREVIEW:
            return Preview()
        case PacingKind.PROGRESSIVE:
            return Ratio(1.0)
        case PacingKind.RATIO:
            return Ratio(mode.ratio or 1.0)
        case PacingKind.VICIDIAL:
            return Vicidial()
        case PacingKind.PREDICTIVE:
            return Predictive()
