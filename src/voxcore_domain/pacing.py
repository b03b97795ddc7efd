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
from collections.abc import Sequence
from typing import Any, Final, Protocol

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
    available: int | None = None
    """Contacts it could dial now, if known; None when plenty. None of the strategies dials
    more (the planner caps them); the predictive one skips its sums when it is 0."""

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

    def with_correction(self, correction: float) -> PacerMemory:
        """This memory with another `correction` (every predictive campaign, every tick:
        `attrs.evolve` costs several times more). Every field is passed on."""
        return PacerMemory(self.level, self.level_adjusted_at, correction)


def corrected(memory: PacerMemory, correction: float) -> PacerMemory:
    """`memory` with `correction`: itself when it has it already. The planner carries a
    predictive campaign's memory as the memory it started from and the correction learned
    since, and builds the value only when asked for it."""
    return memory if correction == memory.correction else memory.with_correction(correction)


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
        return PacingDecision(
            _ratio_dials(self.ratio, situation.free, situation.ringing_elapsed), memory
        )


def _ratio_dials(ratio: float, free: int, ringing_elapsed: Sequence[float]) -> int:
    """`Ratio`'s dials: `decide`'s, and `pace`'s without a `PacingInput`."""
    wanted = math.floor(ratio * max(0, free) + 1e-9)
    return max(0, wanted - len(ringing_elapsed))


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


class _AnswerCurve:
    """What pacing asks of one answer-delay snapshot for one ring timeout and number of
    checkpoints. Every tick asks again while the snapshot lives (a minute), so each answer is
    worked out once: the checkpoints, and each ringing time's chances, by tenths of a second
    rung."""

    __slots__ = (
        "_grid",
        "_offsets",
        "_ring",
        "_tail_mean",
        "_within",
        "first",
        "horizons",
        "known",
        "new_dial",
        "reach",
        "times",
    )

    def __init__(self, delay: Durations, ring_timeout_s: float, points: int) -> None:
        self._grid, self._tail_mean = delay.survival, delay.tail_mean
        self._ring = ring_timeout_s
        self._within = max(_cdf(self._grid, self._tail_mean, ring_timeout_s), 1e-9)
        self.known: dict[int, tuple[float, ...]] = {}
        """`ringing`'s answers so far, by tenths rung."""
        self.times = self._answer_times(points)
        """Seconds after dialling by which a share u of eventually-answered dials is answered,
        for u at the midpoints of `points` equal slices: a quadrature over the answer time."""
        self.horizons = tuple(round(t + GRACE_S) for t in self.times)
        """Whole seconds by which a busy slot must free to take an answer at each checkpoint:
        the answer time plus the grace an answered call may wait."""
        self.new_dial = tuple(self._answered_by(t) for t in self.times)
        """P(a new dial, if it is answered, is answered by each checkpoint)."""
        self._offsets = (0.0, *self.times)
        self.first = max(0, -min(self.horizons))
        """The shortest a call may have lasted for every horizon to stay on a survival grid."""
        self.reach = max(self.horizons)
        """How far past a call's age the horizons reach."""

    def _answered_by(self, t: float) -> float:
        """P(answered within t | answered before the ring timeout)."""
        share = _cdf(self._grid, self._tail_mean, min(t, self._ring)) / self._within
        return share if share < 1.0 else 1.0

    def ringing(self, rung_tenths: int) -> tuple[float, ...]:
        """For a dial that has rung this many tenths of a second: the share of answers in by
        now, then by each checkpoint from now."""
        found = self.known.get(rung_tenths)
        if found is None:
            rung = rung_tenths / 10.0
            found = self.known[rung_tenths] = tuple(
                self._answered_by(rung + offset) for offset in self._offsets
            )
        return found

    def _answer_times(self, points: int) -> tuple[float, ...]:
        # Each checkpoint is the first quarter second by which the answered share reaches its
        # level (or the ring timeout): one walk over the quarter seconds.
        ring, grid, tail_mean = self._ring, self._grid, self._tail_mean
        within = self._answered_by(ring)
        t = 0.0
        quantiles: list[float] = []
        for k in range(points):
            level = (k + 0.5) / points
            while t < ring and _cdf(grid, tail_mean, t) / within < level:
                t += 0.25
            quantiles.append(min(t, ring))
        return tuple(quantiles)


def _cdf(grid: tuple[float, ...], tail_mean: float, t: float) -> float:
    """`Durations(grid, tail_mean).cdf(t)`, the same arithmetic to the last bit, spelt out here:
    asked for every quarter second of a new snapshot's answer delays and for most dials of a
    tick (each rings at a tenth its snapshot has not seen yet), it runs as compiled code with
    the module."""
    if t <= 0.0:
        return 0.0
    inner = len(grid) - 1
    i = int(t)
    if i < inner:
        frac = t - i
        return 1.0 - (grid[i] * (1.0 - frac) + grid[i + 1] * frac)
    return 1.0 - grid[inner] * math.exp(-(t - inner) / tail_mean)


def _round(x: float) -> int:
    """`round(x)`, to the same integer (half to even): compiled, a few instructions, where the
    builtin is looked up and called through the interpreter (~1,500 instructions, once per dial
    and tick). `x - floor(x)` is exact for any finite double."""
    whole = math.floor(x)
    rest = x - whole
    if rest > 0.5 or (rest == 0.5 and whole % 2 == 1):
        return whole + 1
    return whole


def _answer_curve(delay: Durations, ring_timeout_s: float, points: int) -> _AnswerCurve:
    # Keyed by this module's class: the bench and the tests run the compiled module and its
    # source side by side on the same snapshots, and neither can use the other's curve.
    return delay.memo(
        (_AnswerCurve, ring_timeout_s, points), _AnswerCurve, delay, ring_timeout_s, points
    )


def _freeing(
    talk: Durations, horizons: tuple[int, ...], busy_elapsed: Sequence[float], free: int
) -> tuple[list[float], list[float]]:
    """Mean and variance of the slots free by each horizon: `free` now, and each call in
    progress that ends by then, from how long it has lasted (grouped by whole seconds)."""
    survival = talk.survival
    first, inside = max(0, -min(horizons)), len(survival) - max(horizons)
    counts: dict[int, int] = {}
    for second in map(int, busy_elapsed):
        counts[second] = counts.get(second, 0) + 1
    rows = []
    for second, count in counts.items():
        if first <= second < inside:
            # survival_seconds(0) is 1: nothing has ended before it began.
            rows.append((second, count, survival[second] if second else 1.0))
        else:  # past the grid (or before it): its chances from the exponential tail
            rows.append((second, count, -1.0))
    means, variances = [], []
    for k, h in enumerate(horizons):
        mean, var = float(free), 0.0
        for second, count, alive in rows:
            if alive > 1e-12:
                p = 1.0 - survival[second + h] / alive
            elif alive < 0.0:
                p = talk.endings(second, horizons)[k]
            else:  # it should have ended long ago: it will end any moment
                p = 1.0
            share = count * p
            mean += share
            var += share * (1.0 - p)
        means.append(mean)
        variances.append(var)
    return means, variances


def _answering(
    curve: _AnswerCurve, q: float, ringing_elapsed: Sequence[float], waiting: int
) -> tuple[list[float], list[float]]:
    """Mean and variance of the answers in by each checkpoint: those `waiting` now, and each
    dial still ringing that is answered by then, given how long it has rung (grouped by
    tenths of a second) and the answer rate `q`."""
    counts: dict[int, int] = {}
    for r in ringing_elapsed:
        tenths = _round(r * 10)
        counts[tenths] = counts.get(tenths, 0) + 1
    rows = []
    for tenths, count in counts.items():
        answered = curve.ringing(tenths)
        still = 1.0 - q * answered[0]
        if still > 1e-12:  # else certainly answered already: nothing more will come of it
            rows.append((count, still, answered))
    means, variances = [], []
    for k in range(1, len(curve.times) + 1):
        mean, var = float(waiting), 0.0
        for count, still, answered in rows:
            h = q * (answered[k] - answered[0]) / still
            share = count * h
            mean += share
            var += share * (1.0 - h)
        means.append(mean)
        variances.append(var)
    return means, variances


def _balance_3(
    curve: _AnswerCurve,
    talk: Durations,
    q: float,
    busy_elapsed: Sequence[float],
    ringing_elapsed: Sequence[float],
    free: int,
    waiting: int,
) -> tuple[float, float, float, float, float, float]:
    """`_freeing` and `_answering` for the default three checkpoints, as the mean and variance
    of (answers - frees) at each: the same terms added in the same order, so the same results
    to the last bit.

    A tick pays this once per campaign: one pass over the calls and one over the dials, each
    checkpoint's sums in local variables (C doubles in the compiled module)."""
    survival = talk.survival
    first, inside = curve.first, len(survival) - curve.reach
    h0, h1, h2 = horizons = curve.horizons
    # The calls grouped by whole seconds lasted, the dials by tenths of a second rung, in
    # first-seen order (as `Counter` groups them in the plain formulas).
    seconds, calls = _grouped([int(elapsed) for elapsed in busy_elapsed])
    rung_tenths, dials = _grouped([_round(rung * 10) for rung in ringing_elapsed])

    f0 = f1 = f2 = float(free)
    g0 = g1 = g2 = 0.0
    for i in range(len(seconds)):
        second, count = seconds[i], calls[i]
        # survival_seconds(0) is 1: nothing has ended before it began.
        alive = (survival[second] if second else 1.0) if first <= second < inside else -1.0
        if alive > 1e-12:
            p0 = 1.0 - survival[second + h0] / alive
            p1 = 1.0 - survival[second + h1] / alive
            p2 = 1.0 - survival[second + h2] / alive
        else:  # off the grid, or should have ended long ago: as `_freeing` has it
            p0, p1, p2 = talk.endings(second, horizons)
        share = count * p0
        f0 += share
        g0 += share * (1.0 - p0)
        share = count * p1
        f1 += share
        g1 += share * (1.0 - p1)
        share = count * p2
        f2 += share
        g2 += share * (1.0 - p2)

    a0 = a1 = a2 = float(waiting)
    b0 = b1 = b2 = 0.0
    t0, t1, t2 = curve.times
    for i in range(len(rung_tenths)):
        count = dials[i]
        # `curve.ringing`'s values, worked out here rather than looked up: a campaign's few
        # dials seldom ring at a tenth its snapshot has seen, and four C calls cost less than
        # filling the memo (boxed floats in a tuple in a dict).
        rung = rung_tenths[i] / 10.0
        now = curve._answered_by(rung)
        still = 1.0 - q * now
        if still <= 1e-12:  # certainly answered already: nothing more will come of it
            continue
        h = q * (curve._answered_by(rung + t0) - now) / still
        share = count * h
        a0 += share
        b0 += share * (1.0 - h)
        h = q * (curve._answered_by(rung + t1) - now) / still
        share = count * h
        a1 += share
        b1 += share * (1.0 - h)
        h = q * (curve._answered_by(rung + t2) - now) / still
        share = count * h
        a2 += share
        b2 += share * (1.0 - h)
    return a0 - f0, b0 + g0, a1 - f1, b1 + g1, a2 - f2, b2 + g2


def _grouped(keys: list[int]) -> tuple[list[int], list[int]]:
    """The distinct keys in first-seen order and how many of each (as `Counter` groups them).
    Usually every key differs (a campaign's calls seldom started in the same second): then
    no dict is filled, and for a few keys no set either (comparing each pair of a dozen costs
    less than building one)."""
    n = len(keys)
    if n <= 16:
        distinct = True
        for i in range(1, n):
            key = keys[i]
            for j in range(i):
                if keys[j] == key:
                    distinct = False
                    break
            if not distinct:
                break
    else:
        distinct = len(set(keys)) == n
    if distinct:
        return keys, [1] * n
    counts: dict[int, int] = {}
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    return list(counts), list(counts.values())


def _risk(base: Sequence[tuple[float, float, float, float]], n: int) -> float:
    """Chance that the n-th new dial, once answered, finds every slot taken: at each
    checkpoint P(answers among the others >= frees), continuity-corrected; averaged. `base`
    holds per checkpoint the mean and variance of (answers - frees) and a new dial's chance of
    being answered by then (and not)."""
    others = n - 1
    total = 0.0
    erfc, sqrt = math.erfc, math.sqrt
    for mean, var, c, not_c in base:
        spread = others * c
        m = mean + spread
        v = var + spread * not_c
        if v <= 1e-12:
            total += 1.0 if m > -0.5 else 0.0
        else:
            total += 0.5 * erfc(-(m + 0.5) / (_SQRT2 * sqrt(v)))
    return total / len(base)


def _tail(mean: float, var: float) -> float:
    """P(answers >= frees) for (answers - frees) of this mean and variance, by the normal
    approximation with a continuity correction: `_risk`'s term when the others' spread is 0."""
    if var <= 1e-12:
        return 1.0 if mean > -0.5 else 0.0
    return 0.5 * math.erfc(-(mean + 0.5) / (_SQRT2 * math.sqrt(var)))


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
        allowance, correction = _allowance(
            _tuning(self),
            situation.slots,
            situation.stats,
            situation.abandon_target,
            situation.tick_s,
            memory.correction,
        )
        return allowance, corrected(memory, correction)

    def decide(self, situation: PacingInput, memory: PacerMemory) -> PacingDecision:
        dials, correction, allowance, risk = _predict(
            _tuning(self),
            situation.slots,
            situation.busy_elapsed,
            situation.ringing_elapsed,
            situation.waiting,
            situation.stats,
            situation.abandon_target,
            situation.ring_timeout_s,
            situation.tick_s,
            situation.available,
            memory.correction,
        )
        return PacingDecision(dials, corrected(memory, correction), allowance, risk)


class _Tuning:
    """A `Predictive`'s settings as `_allowance` and `_predict` read them: in the compiled
    module a native class, whose attributes are C fields, where an attrs class's are looked up
    by name (a dozen each campaign and tick)."""

    __slots__ = (
        "aim",
        "answer_rate_z",
        "checkpoints",
        "correction_high",
        "correction_low",
        "correction_time_s",
        "feedback_prior_answers",
        "hour_ceiling",
        "hour_z",
        "max_dials_per_tick",
        "min_answer_rate",
        "min_answers_for_feedback",
    )

    def __init__(self, p: Predictive) -> None:
        self.aim: float = p.aim
        self.hour_ceiling: float = p.hour_ceiling
        self.hour_z: float = p.hour_confidence_z * math.sqrt(p.abandon_overdispersion)
        """The hour's z, widened by the abandons' overdispersion."""
        self.answer_rate_z: float = p.answer_rate_z
        self.min_answer_rate: float = p.min_answer_rate
        self.checkpoints: int = p.checkpoints
        self.correction_time_s: float = p.correction_time_s
        self.correction_low: float = p.correction_bounds[0]
        self.correction_high: float = p.correction_bounds[1]
        self.feedback_prior_answers: float = p.feedback_prior_answers
        self.min_answers_for_feedback: int = p.min_answers_for_feedback
        self.max_dials_per_tick: int = p.max_dials_per_tick


def _tuning(p: Predictive) -> _Tuning:
    """`pacer_for` hands out one `Predictive`, whose settings are read once; any other's are
    read on each use."""
    return _DEFAULT_TUNING if p is _PREDICTIVE else _Tuning(p)


def _allowance(
    p: _Tuning,
    slots: int,
    stats: CampaignSnapshot,
    target: float,
    tick_s: float,
    correction: float,
) -> tuple[float, float]:
    """`Predictive.allowance` on the situation's fields: the allowance and the correction
    learned this tick from the memory's `correction`."""
    rates = stats.abandon
    connects = stats.connects_per_hour
    if connects <= 0.0:
        talk = stats.handle_time
        connects = max(1, slots) * 3600.0 / max(1.0, talk.memo("mean", talk.mean))
    # Keep an hour's mean count of abandons plus z standard deviations under the hour's
    # ceiling, the variance being `abandon_overdispersion` times the mean.
    ceiling = p.hour_ceiling * target * connects
    z = p.hour_z
    hourly_mean = ((-z + math.sqrt(z * z + 4.0 * ceiling)) / 2.0) ** 2
    hour_cap = hourly_mean / connects
    aim = min(p.aim * target, hour_cap)

    answers = rates.last_hour_answers
    if answers >= p.min_answers_for_feedback:
        prior = p.feedback_prior_answers
        measured = (rates.last_hour * answers + aim * prior) / (answers + prior)
        error = max(-2.0, min(1.0, (aim - measured) / aim))
        correction *= math.exp(error * tick_s / p.correction_time_s)
        correction = max(p.correction_low, min(p.correction_high, correction))
    # The correction may raise the allowance toward the measured rate, never past what keeps
    # the hour under its ceiling.
    allowance = min(aim * correction, hour_cap)
    enough, near = p.min_answers_for_feedback, 0.9 * target
    if (rates.today_answers >= enough and rates.today >= near) or (
        rates.last_30_days_answers >= enough and rates.last_30_days >= near
    ):
        # Close to the regulators' limit (today or over 30 days): stop spending what is
        # left of it.
        allowance = min(allowance, 0.25 * aim)
    return allowance, correction


def _predict(
    p: _Tuning,
    slots: int,
    busy: Sequence[float],
    ringing: Sequence[float],
    waiting: int,
    stats: CampaignSnapshot,
    target: float,
    ring_timeout_s: float,
    tick_s: float,
    available: int | None,
    correction: float,
) -> tuple[int, float, float, float]:
    """`Predictive.decide` on the situation's fields and the memory's correction: the dials,
    the correction learned, the allowance and the risk. The planner's path, which builds no
    `PacingInput`, `PacerMemory` or `PacingDecision`."""
    allowance, correction = _allowance(p, slots, stats, target, tick_s, correction)
    if slots <= 0 or available == 0:
        # Not a dial to weigh: the feedback above still learns, the sums are skipped.
        return 0, correction, allowance, 0.0
    # `AnswerRateView.planning` spelt out: an interpreted method, ~2,500 instructions a call.
    rate = stats.answer_rate
    q = max(p.min_answer_rate, min(1.0, rate.mean + p.answer_rate_z * rate.std))
    curve = _answer_curve(stats.answer_delay, ring_timeout_s, p.checkpoints)
    # The sums add the same terms in the same order as the plain formulas, whatever was
    # kept from earlier ticks: a decision depends on the situation alone, to the last bit.
    free = slots - len(busy) - waiting
    # Per checkpoint: the mean of (answers - frees), its variance, and a new dial's chance
    # of being answered by then (and not).
    if len(curve.horizons) == 3:
        d0, w0, d1, w1, d2, w2 = _balance_3(
            curve, stats.handle_time, q, busy, ringing, free, waiting
        )
        # `_risk(base, 1)` spelt out (the others' spread is 0): most campaigns of a tick
        # stop at the first dial, so the search's values are built only past it.
        low_risk = (_tail(d0, w0) + _tail(d1, w1) + _tail(d2, w2)) / 3
        if low_risk > allowance:
            return 0, correction, allowance, low_risk
        c0, c1, c2 = curve.new_dial
        base: Sequence[tuple[float, float, float, float]] = (
            (d0, w0, q * c0, 1.0 - q * c0),
            (d1, w1, q * c1, 1.0 - q * c1),
            (d2, w2, q * c2, 1.0 - q * c2),
        )
    else:
        free_mean, free_var = _freeing(stats.handle_time, curve.horizons, busy, free)
        ans_mean, ans_var = _answering(curve, q, ringing, waiting)
        base = [
            (ans_mean[k] - free_mean[k], ans_var[k] + free_var[k], q * c, 1.0 - q * c)
            for k, c in enumerate(curve.new_dial)
        ]
        low_risk = _risk(base, 1)
        if low_risk > allowance:
            return 0, correction, allowance, low_risk

    # The largest n whose risk stays under the allowance: doubling, then bisection.
    most = p.max_dials_per_tick
    low, high = 1, 2
    while high <= most:
        high_risk = _risk(base, high)
        if high_risk > allowance:
            break
        low, high, low_risk = high, high * 2, high_risk
    high = min(high, most + 1)
    while high - low > 1:
        mid = (low + high) // 2
        mid_risk = _risk(base, mid)
        if mid_risk <= allowance:
            low, low_risk = mid, mid_risk
        else:
            high = mid
    return low, correction, allowance, low_risk


_PREVIEW, _PROGRESSIVE, _VICIDIAL, _PREDICTIVE = Preview(), Ratio(1.0), Vicidial(), Predictive()
"""Strategies hold no state (the memory is passed in): one of each serves every campaign."""

_DEFAULT_TUNING = _Tuning(_PREDICTIVE)


_RATIO: Final = PacingKind.RATIO

_STATELESS: dict[PacingKind, Pacer] = {
    PacingKind.PREVIEW: _PREVIEW,
    PacingKind.PROGRESSIVE: _PROGRESSIVE,
    PacingKind.VICIDIAL: _VICIDIAL,
    PacingKind.PREDICTIVE: _PREDICTIVE,
}


def pacer_for(mode: PacingMode) -> Pacer:
    """The strategy a campaign's pacing mode names (asked once per campaign and tick: a dict
    lookup, where a `match` on the enum's members read each member off its class, and so does
    `PacingKind.RATIO`: ~1 µs through the enum class's `__getattr__` hook)."""
    kind = mode.kind
    if kind is _RATIO:
        return Ratio(mode.ratio or 1.0)
    return _STATELESS[kind]


def pace(
    strategy: Pacer,
    now: float,
    slots: int,
    busy_elapsed: Sequence[float],
    ringing_elapsed: Sequence[float],
    waiting: int,
    stats: CampaignSnapshot,
    abandon_target: float,
    ring_timeout_s: float,
    tick_s: float,
    available: int | None,
    memory: PacerMemory,
    correction: float,
) -> tuple[int, PacerMemory, float, float, float]:
    """`strategy.decide(PacingInput(...), corrected(memory, correction))` as the planner asks
    for it, every campaign every tick: (dials, memory, correction, allowance, risk), the
    decision's memory being `corrected(memory, correction)`.

    This module's predictive, ratio (progressive) and preview pacers are worked out straight
    from the arguments: no `PacingInput`, `PacerMemory` or `PacingDecision` is built (attrs
    values, whose `__init__` runs interpreted even in the compiled module, ~1 µs each, a tenth
    of what a predictive campaign costs a tick). Any other `Pacer` (VICIdial's, the bench's
    plain formulas, the other build's) is asked through its `decide`."""
    if isinstance(strategy, Predictive):
        dials, correction, allowance, risk = _predict(
            _tuning(strategy),
            slots,
            busy_elapsed,
            ringing_elapsed,
            waiting,
            stats,
            abandon_target,
            ring_timeout_s,
            tick_s,
            available,
            correction,
        )
        return dials, memory, correction, allowance, risk
    if isinstance(strategy, Ratio):
        free = slots - len(busy_elapsed) - waiting
        return _ratio_dials(strategy.ratio, free, ringing_elapsed), memory, correction, 0.0, 0.0
    if isinstance(strategy, Preview):
        return 0, memory, correction, 0.0, 0.0
    # Called as Any: the other build's pacers return that module's `PacingDecision`, which
    # compiled code checks a `Pacer`'s result against and refuses; only its fields are read.
    other: Any = strategy
    decision = other.decide(
        PacingInput(
            now=now,
            slots=slots,
            busy_elapsed=busy_elapsed,
            ringing_elapsed=ringing_elapsed,
            waiting=waiting,
            stats=stats,
            abandon_target=abandon_target,
            ring_timeout_s=ring_timeout_s,
            tick_s=tick_s,
            available=available,
        ),
        corrected(memory, correction),
    )
    after = decision.memory
    return decision.dials, after, after.correction, decision.allowance, decision.risk
