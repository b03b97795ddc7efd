"""The predictive pacer as first written: the plain formulas, one term at a time.

`voxcore_domain.pacing.Predictive` was rewritten for speed; this is what it must equal, to the
last bit, for any situation (`tests/unit/test_pacing_equivalence.py` compares the two), and
what `make bench-dialler` times it against (`PlainPredictive`, through `plan_tick`'s
`strategies`). Not for production: it works everything out again every tick, and it predates
`PacingInput.available` (a campaign with no contacts left is summed all the same; the planner
caps its dials at 0 either way).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import attrs

from voxcore_domain.estimators import Durations
from voxcore_domain.model import PacingKind, PacingMode
from voxcore_domain.pacing import (
    GRACE_S,
    Pacer,
    PacerMemory,
    PacingDecision,
    PacingInput,
    Predictive,
    pacer_for,
)

_SQRT2 = math.sqrt(2.0)


def _normal_tail_at_least(mean: float, variance: float) -> float:
    if variance <= 1e-12:
        return 1.0 if mean > -0.5 else 0.0
    return 0.5 * math.erfc(-(mean + 0.5) / (_SQRT2 * math.sqrt(variance)))


def answered_by(delay: Durations, ring_timeout_s: float, t: float) -> float:
    within = max(delay.cdf(ring_timeout_s), 1e-9)
    return min(1.0, delay.cdf(min(t, ring_timeout_s)) / within)


def answer_times(delay: Durations, ring_timeout_s: float, points: int) -> tuple[float, ...]:
    within = answered_by(delay, ring_timeout_s, ring_timeout_s)
    quantiles: list[float] = []
    t, step = 0.0, 0.25
    for k in range(points):
        while t < ring_timeout_s and delay.cdf(t) / within < (k + 0.5) / points:
            t += step
        quantiles.append(min(t, ring_timeout_s))
    return tuple(quantiles)


def _survival_seconds(d: Durations, s: int) -> float:
    grid = d.survival
    if s < len(grid):
        return grid[s] if s > 0 else 1.0
    last = len(grid) - 1
    return grid[last] * math.exp(-(s - last) / d.tail_mean)


def _endings(d: Durations, elapsed: int, horizons: tuple[int, ...]) -> tuple[float, ...]:
    alive = _survival_seconds(d, elapsed)
    return tuple(
        1.0 if alive <= 1e-12 else 1.0 - _survival_seconds(d, elapsed + h) / alive for h in horizons
    )


def _ringing_answers(
    delay: Durations, ring_timeout_s: float, rung_tenths: int, times: tuple[float, ...]
) -> tuple[float, tuple[float, ...]]:
    rung = rung_tenths / 10.0
    return answered_by(delay, ring_timeout_s, rung), tuple(
        answered_by(delay, ring_timeout_s, rung + t) for t in times
    )


def reference_freeing(
    talk: Durations, horizons: tuple[int, ...], busy_elapsed: Sequence[float], free: int
) -> tuple[list[float], list[float]]:
    free_mean = [float(free)] * len(horizons)
    free_var = [0.0] * len(horizons)
    for e, count in Counter(map(int, busy_elapsed)).items():
        for k, p in enumerate(_endings(talk, e, horizons)):
            free_mean[k] += count * p
            free_var[k] += count * p * (1.0 - p)
    return free_mean, free_var


def reference_answering(
    delay: Durations,
    ring: float,
    times: tuple[float, ...],
    q: float,
    ringing_elapsed: Sequence[float],
    waiting: int,
) -> tuple[list[float], list[float]]:
    ans_mean = [float(waiting)] * len(times)
    ans_var = [0.0] * len(times)
    for tenths, count in Counter(round(r * 10) for r in ringing_elapsed).items():
        g0, by_then = _ringing_answers(delay, ring, tenths, times)
        still = 1.0 - q * g0
        for k, g1 in enumerate(by_then):
            h = 0.0 if still <= 1e-12 else q * (g1 - g0) / still
            ans_mean[k] += count * h
            ans_var[k] += count * h * (1.0 - h)
    return ans_mean, ans_var


def reference_allowance(
    pacer: Predictive, situation: PacingInput, memory: PacerMemory
) -> tuple[float, PacerMemory]:
    target = situation.abandon_target
    stats = situation.stats
    rates = stats.abandon
    connects = stats.connects_per_hour
    if connects <= 0.0:
        connects = max(1, situation.slots) * 3600.0 / max(1.0, stats.handle_time.mean())
    ceiling = pacer.hour_ceiling * target * connects
    z = pacer.hour_confidence_z * math.sqrt(pacer.abandon_overdispersion)
    hourly_mean = ((-z + math.sqrt(z * z + 4.0 * ceiling)) / 2.0) ** 2
    hour_cap = hourly_mean / connects
    aim = min(pacer.aim * target, hour_cap)

    correction = memory.correction
    answers = rates.last_hour_answers
    if answers >= pacer.min_answers_for_feedback:
        prior = pacer.feedback_prior_answers
        measured = (rates.last_hour * answers + aim * prior) / (answers + prior)
        error = max(-2.0, min(1.0, (aim - measured) / aim))
        correction *= math.exp(error * situation.tick_s / pacer.correction_time_s)
        low, high = pacer.correction_bounds
        correction = max(low, min(high, correction))
    allowance = min(aim * correction, hour_cap)
    for rate, answers in (
        (rates.today, rates.today_answers),
        (rates.last_30_days, rates.last_30_days_answers),
    ):
        if answers >= pacer.min_answers_for_feedback and rate >= 0.9 * target:
            allowance = min(allowance, 0.25 * aim)
    return allowance, attrs.evolve(memory, correction=correction)


def reference_decide(
    pacer: Predictive, situation: PacingInput, memory: PacerMemory
) -> PacingDecision:
    allowance, memory = reference_allowance(pacer, situation, memory)
    if situation.slots <= 0:
        return PacingDecision(0, memory, allowance)
    stats = situation.stats
    q = max(pacer.min_answer_rate, stats.answer_rate.planning(pacer.answer_rate_z))
    ring = situation.ring_timeout_s
    delay = stats.answer_delay
    talk = stats.handle_time
    times = answer_times(delay, ring, pacer.checkpoints)

    horizons = tuple(round(t + GRACE_S) for t in times)
    free_mean, free_var = reference_freeing(talk, horizons, situation.busy_elapsed, situation.free)
    ans_mean, ans_var = reference_answering(
        delay, ring, times, q, situation.ringing_elapsed, situation.waiting
    )

    base = [
        (ans_mean[k] - free_mean[k], ans_var[k] + free_var[k], q * answered_by(delay, ring, t))
        for k, t in enumerate(times)
    ]

    def risk(n: int) -> float:
        others = n - 1
        total = 0.0
        for mean, var, c in base:
            total += _normal_tail_at_least(mean + others * c, var + others * c * (1.0 - c))
        return total / len(base)

    if risk(1) > allowance:
        return PacingDecision(0, memory, allowance, risk(1))
    low, high = 1, 2
    while high <= pacer.max_dials_per_tick and risk(high) <= allowance:
        low, high = high, high * 2
    high = min(high, pacer.max_dials_per_tick + 1)
    while high - low > 1:
        mid = (low + high) // 2
        if risk(mid) <= allowance:
            low = mid
        else:
            high = mid
    return PacingDecision(low, memory, allowance, risk(low))


@attrs.frozen
class PlainPredictive:
    """`Predictive`'s decisions by the plain formulas (`reference_decide`)."""

    pacer: Predictive = attrs.field(factory=Predictive)

    def decide(self, situation: PacingInput, memory: PacerMemory) -> PacingDecision:
        return reference_decide(self.pacer, situation, memory)


_PLAIN = PlainPredictive()


def plain_pacer_for(mode: PacingMode) -> Pacer:
    """`pacer_for`, with the plain formulas for predictive pacing."""
    return _PLAIN if mode.kind is PacingKind.PREDICTIVE else pacer_for(mode)
