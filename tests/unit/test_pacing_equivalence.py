"""The predictive pacer decides exactly as its first, straightforward implementation did.

`bench.plain_pacing.reference_decide` is that implementation, kept for this comparison (and as
the bench's baseline): the pacer in `voxcore_domain.pacing` was rewritten for speed (answers
kept per snapshot, one pass per campaign over plain locals), and every decision — the dials, the
memory, the allowance and the risk, to the last bit — must be the same for any situation, on
cold caches and on caches warmed by earlier ticks. Every test runs on each build of the module
(`bench.pacing_builds`): compiled by mypyc when it is built, and its pure-Python source.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import attrs
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bench.pacing_builds import builds
from bench.plain_pacing import (
    answer_times,
    answered_by,
    reference_answering,
    reference_decide,
    reference_freeing,
)
from voxcore_domain.estimators import AbandonRates, AnswerRateView, CampaignSnapshot, Durations
from voxcore_domain.pacing import GRACE_S, PacerMemory, PacingDecision, PacingInput

T0 = 1_767_600_000.0


@pytest.fixture(scope="module", params=sorted(builds()))
def build(request: pytest.FixtureRequest) -> ModuleType:
    """Each build of `voxcore_domain.pacing`: compiled (when built) and its pure-Python source."""
    return builds()[request.param]


def comparable(decision: PacingDecision | str) -> object:
    """A decision as its fields (the builds' `PacingDecision` classes differ), or the error."""
    return decision if isinstance(decision, str) else attrs.astuple(decision)


# -- inputs ------------------------------------------------------------------------------------


@st.composite
def durations(draw: st.DrawFn, longest: int) -> Durations:
    """Any non-increasing survival grid: smooth, stepped (fixed-length calls), reaching zero,
    or shorter than the times asked about (the exponential tail)."""
    size = draw(st.integers(1, longest))
    kind = draw(st.sampled_from(["random", "exponential", "fixed"]))
    if kind == "random":
        values = draw(st.lists(st.floats(0.0, 1.0), min_size=size, max_size=size))
        grid = sorted(values, reverse=True)
    elif kind == "exponential":
        mean = draw(st.floats(0.5, 2.0 * longest))
        grid = [math.exp(-s / mean) for s in range(size)]
    else:
        length = draw(st.integers(0, size))
        floor = draw(st.sampled_from([0.0, 1e-13, 0.01]))
        grid = [1.0 if s < length else floor for s in range(size)]
    return Durations(survival=tuple(grid), tail_mean=draw(st.floats(0.5, 600.0)))


@st.composite
def snapshots(draw: st.DrawFn) -> CampaignSnapshot:
    mean = draw(st.floats(0.0, 1.0))
    answers = st.integers(0, 5000)
    rate = st.floats(0.0, 0.2)
    return CampaignSnapshot(
        answer_rate=AnswerRateView(mean, draw(st.floats(0.0, 0.5)), draw(st.floats(0, 1e4))),
        handle_time=draw(durations(longest=900)),
        answer_delay=draw(durations(longest=40)),
        abandon=AbandonRates(
            draw(rate), draw(answers), draw(rate), draw(answers), draw(rate), draw(answers)
        ),
        connects_per_hour=draw(st.sampled_from([0.0, 30.0, 600.0, 40_000.0])),
    )


def times_from(pool: Sequence[float]) -> st.SearchStrategy[list[float]]:
    """Elapsed times, often repeated (many calls started in the same second)."""
    return st.lists(st.sampled_from(pool), max_size=120)


busy_pool = st.lists(st.floats(0.0, 1200.0), min_size=1, max_size=40)
ring_pool = st.lists(st.floats(0.0, 60.0), min_size=1, max_size=30)

pacer_settings = st.fixed_dictionaries(
    {
        "checkpoints": st.integers(1, 6),
        "answer_rate_z": st.sampled_from([0.0, 1.0, 2.0]),
        "min_answer_rate": st.sampled_from([0.0, 0.02, 0.5]),
        "max_dials_per_tick": st.sampled_from([1, 7, 1000, 100_000]),
    }
)
memories = st.builds(
    PacerMemory,
    level=st.floats(1.0, 3.0),
    level_adjusted_at=st.none() | st.just(T0),
    correction=st.floats(0.25, 3.0),
)


@st.composite
def situations(draw: st.DrawFn, stats: CampaignSnapshot) -> PacingInput:
    busy = draw(busy_pool.flatmap(times_from))
    return PacingInput(
        now=T0,
        slots=draw(st.integers(-5, 400)),
        busy_elapsed=tuple(busy),
        ringing_elapsed=tuple(draw(ring_pool.flatmap(times_from))),
        waiting=draw(st.integers(0, 20)),
        stats=stats,
        abandon_target=draw(st.sampled_from([0.001, 0.03, 0.1, 0.5, 1.0])),
        ring_timeout_s=draw(st.sampled_from([5.0, 12.5, 25.0, 40.0])),
        tick_s=draw(st.sampled_from([0.5, 2.0])),
    )


# -- the comparison ----------------------------------------------------------------------------


@given(data=st.data(), stats=snapshots(), pacer_kwargs=pacer_settings, memory=memories)
@settings(max_examples=400, deadline=None)
def test_decisions_match_the_reference_to_the_last_bit(
    build: ModuleType,
    data: st.DataObject,
    stats: CampaignSnapshot,
    pacer_kwargs: dict[str, Any],
    memory: PacerMemory,
) -> None:
    pacer = build.Predictive(**pacer_kwargs)
    # Several ticks on one snapshot: the later ones run on what the earlier ones cached.
    for _ in range(4):
        situation = data.draw(situations(stats))
        assert comparable(outcome(pacer.decide, situation, memory)) == comparable(
            outcome(functools.partial(reference_decide, pacer), situation, memory)
        )


def outcome(
    decide: Callable[[PacingInput, PacerMemory], PacingDecision],
    situation: PacingInput,
    memory: PacerMemory,
) -> PacingDecision | str:
    """The decision, or the error raised instead. An answer delay with no chance of an answer
    before the ring timeout divides by zero in both (a snapshot from `DurationEstimator` always
    keeps some, through its prior): the rewrite keeps that too, rather than invent a decision
    the reference never made."""
    try:
        return decide(situation, memory)
    except ZeroDivisionError as error:
        return repr(error)


@given(
    talk=durations(longest=900),
    delay=durations(longest=40),
    busy=busy_pool.flatmap(times_from),
    ringing=ring_pool.flatmap(times_from),
    ring_timeout=st.sampled_from([5.0, 25.0, 40.0]),
    checkpoints=st.integers(1, 6),
    q=st.floats(0.0, 1.0),
    free=st.integers(-5, 50),
)
@settings(max_examples=300, deadline=None)
def test_the_sums_match_the_reference_to_the_last_bit(
    build: ModuleType,
    talk: Durations,
    delay: Durations,
    busy: list[float],
    ringing: list[float],
    ring_timeout: float,
    checkpoints: int,
    q: float,
    free: int,
) -> None:
    """The means and variances behind a decision, compared directly: a difference in the last
    bit of a variance seldom shows in a decision."""
    assume(delay.cdf(ring_timeout) > 0.0)  # else both divide by zero (see `outcome`)
    times = answer_times(delay, ring_timeout, checkpoints)
    curve = build._answer_curve(delay, ring_timeout, checkpoints)
    assert curve.times == times
    assert curve.horizons == tuple(round(t + GRACE_S) for t in times)
    assert curve.new_dial == tuple(answered_by(delay, ring_timeout, t) for t in times)
    assert build._freeing(talk, curve.horizons, busy, free) == reference_freeing(
        talk, curve.horizons, busy, free
    )
    for _ in range(2):  # cold, then from what the first pass kept
        assert build._answering(curve, q, ringing, free) == reference_answering(
            delay, ring_timeout, times, q, ringing, free
        )


def test_decisions_match_the_reference_over_a_running_campaign(build: ModuleType) -> None:
    """Calls and dials ageing tick by tick, as in the dialler, on realistic snapshots."""
    rng = random.Random(7)
    pacer = build.Predictive()
    for campaign in range(40):
        stats = CampaignSnapshot(
            answer_rate=AnswerRateView(rng.uniform(0.05, 0.6), rng.uniform(0.0, 0.1), 500.0),
            handle_time=Durations(
                tuple(math.exp(-s / rng.uniform(30.0, 300.0)) for s in range(600)), 120.0
            ),
            answer_delay=Durations(tuple(math.exp(-s / 8.0) for s in range(30)), 8.0),
            abandon=AbandonRates(0.02, rng.randrange(0, 400), 0.01, 800, 0.01, 9000),
            connects_per_hour=rng.choice([0.0, 2000.0]),
        )
        slots = rng.choice([1, 10, 50, 300])
        calls = [rng.expovariate(1 / 120) for _ in range(rng.randrange(0, slots + 3))]
        dials = [rng.uniform(0.0, 25.0) for _ in range(rng.randrange(0, 3 * slots + 1))]
        new_memory = old_memory = PacerMemory()
        for tick in range(30):
            calls = [c + 2.0 if rng.random() > 0.02 else 0.0 for c in calls]
            dials = [d + 2.0 for d in dials if d + 2.0 < 25.0]
            situation = PacingInput(
                now=T0 + 2.0 * tick,
                slots=slots,
                busy_elapsed=tuple(calls),
                ringing_elapsed=tuple(dials),
                waiting=rng.randrange(0, 3),
                stats=stats,
                abandon_target=0.03,
                ring_timeout_s=25.0,
            )
            new = pacer.decide(situation, new_memory)
            old = reference_decide(pacer, situation, old_memory)
            assert comparable(new) == comparable(old), (campaign, tick)
            new_memory, old_memory = new.memory, old.memory
            dials += [0.0] * new.dials


@given(
    talk=durations(longest=900),
    delay=durations(longest=40),
    seconds=st.lists(st.integers(-3, 1000), max_size=60),
    fractions=st.lists(st.floats(0.0, 0.999), min_size=60, max_size=60),
    ringing=ring_pool.flatmap(times_from),
    ring_timeout=st.sampled_from([5.0, 25.0, 40.0]),
    q=st.floats(0.0, 1.0),
    free=st.integers(-5, 50),
    waiting=st.integers(0, 20),
)
@settings(max_examples=300, deadline=None)
def test_the_three_checkpoint_pass_matches_the_reference(
    build: ModuleType,
    talk: Durations,
    delay: Durations,
    seconds: list[int],
    fractions: list[float],
    ringing: list[float],
    ring_timeout: float,
    q: float,
    free: int,
    waiting: int,
) -> None:
    """The default three checkpoints take one pass over the calls and the dials
    (`_balance_3`): drawn here so that its cases all come up (a call per whole second, several
    in one second, past the grid, before it, long dead), compared with the straightforward
    sums."""
    assume(delay.cdf(ring_timeout) > 0.0)
    busy = [second + fraction for second, fraction in zip(seconds, fractions, strict=False)]
    times = answer_times(delay, ring_timeout, 3)
    curve = build._answer_curve(delay, ring_timeout, 3)
    free_mean, free_var = reference_freeing(talk, curve.horizons, busy, free)
    ans_mean, ans_var = reference_answering(delay, ring_timeout, times, q, ringing, waiting)
    expected = []
    for k in range(3):
        expected += [ans_mean[k] - free_mean[k], ans_var[k] + free_var[k]]
    for _ in range(2):  # cold, then from what the first pass kept
        assert list(build._balance_3(curve, talk, q, busy, ringing, free, waiting)) == expected
