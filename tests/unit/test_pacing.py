from __future__ import annotations

import itertools
import random
from collections import Counter
from types import ModuleType

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import voxcore_domain.pacing
from bench.pacing_builds import builds
from voxcore_domain.estimators import CampaignSnapshot, CampaignStats
from voxcore_domain.model import Disposition, PacingMode
from voxcore_domain.pacing import PacerMemory, PacingInput

T0 = 1_767_600_000.0
MODES = ["preview", "progressive", "ratio:2.5", "vicidial", "predictive"]


def warm_stats(answer_rate: float = 0.25, talk_s: float = 120.0, seed: int = 0) -> CampaignSnapshot:
    """Statistics of a campaign that has been dialling for a while."""
    stats = CampaignStats()
    rng = random.Random(seed)
    for i in range(3000):
        now = T0 - 3600 + i
        answered = rng.random() < answer_rate
        stats.dial_resolved(answered, rng.expovariate(1 / 8) if answered else 25.0, now)
        if answered:
            stats.call_ended(Disposition.COMPLETED, rng.expovariate(1 / talk_s), now)
    return stats.snapshot(T0)


WARM = warm_stats()
COLD = CampaignStats().snapshot(T0)


def situation(
    slots: int = 100,
    busy: tuple[float, ...] = (),
    ringing: tuple[float, ...] = (),
    waiting: int = 0,
    stats: CampaignSnapshot = WARM,
    target: float = 0.03,
    available: int | None = None,
) -> PacingInput:
    return PacingInput(
        now=T0,
        slots=slots,
        busy_elapsed=busy,
        ringing_elapsed=ringing,
        waiting=waiting,
        stats=stats,
        abandon_target=target,
        ring_timeout_s=25.0,
        available=available,
    )


@pytest.fixture(scope="module", params=sorted(builds()))
def build(request: pytest.FixtureRequest) -> ModuleType:
    """Each build of `voxcore_domain.pacing`: compiled (when built) and its pure-Python source."""
    return builds()[request.param]


def dials(build: ModuleType, mode: str, s: PacingInput) -> int:
    return int(build.pacer_for(PacingMode.parse(mode)).decide(s, PacerMemory()).dials)


elapsed = st.floats(0, 3600, allow_nan=False)
ring = st.floats(0, 25, allow_nan=False)


@pytest.mark.parametrize("mode", MODES)
@given(busy=st.lists(elapsed, max_size=30), ringing=st.lists(ring, max_size=30))
@settings(max_examples=40, deadline=None)
def test_no_dials_without_slots(
    build: ModuleType, mode: str, busy: list[float], ringing: list[float]
) -> None:
    assert dials(build, mode, situation(slots=0, busy=tuple(busy), ringing=tuple(ringing))) == 0


@pytest.mark.parametrize("mode", ["progressive", "ratio:2.5", "predictive"])
@given(slots=st.integers(0, 50), ringing=st.lists(ring, max_size=30), waiting=st.integers(0, 5))
@settings(max_examples=40, deadline=None)
def test_no_dials_when_every_slot_is_taken_and_none_will_free(
    build: ModuleType, mode: str, slots: int, ringing: list[float], waiting: int
) -> None:
    # Every slot is held by a call waiting to attach: nothing in progress can end, so there is
    # no forecast of a free slot either.
    s = situation(slots=slots, ringing=tuple(ringing), waiting=slots + waiting)
    assert dials(build, mode, s) == 0


def test_preview_never_dials(build: ModuleType) -> None:
    assert dials(build, "preview", situation()) == 0


def test_progressive_keeps_one_dial_per_free_slot(build: ModuleType) -> None:
    s = situation(slots=10, busy=(30.0,) * 4, ringing=(3.0, 4.0))
    assert dials(build, "progressive", s) == 4
    assert build.Ratio(2.0).decide(s, PacerMemory()).dials == 10


def test_predictive_overdials_an_idle_fleet_by_about_the_answer_rate(build: ModuleType) -> None:
    n = dials(build, "predictive", situation(slots=100))
    # 100 free slots, 25 % answer: about 100 / 0.25, far more than progressive's 100, and only
    # a little past it, as the last dials' risk of finding no slot is still small.
    assert 300 <= n <= 460


def test_predictive_is_cautious_at_cold_start(build: ModuleType) -> None:
    cold = dials(build, "predictive", situation(slots=100, stats=COLD))
    warm = dials(build, "predictive", situation(slots=100))
    assert cold < warm
    assert cold <= 160


def test_predictive_counts_calls_about_to_end(build: ModuleType) -> None:
    young = situation(slots=100, busy=(1.0,) * 100)
    # Fixed-length scripted calls of about 60 s: calls at 58 s are about to free their slots.
    fixed = CampaignStats(prior_talk_s=60.0)
    for i in range(2000):
        fixed.dial_resolved(i % 4 == 0, 6.0, T0 - 2000 + i)
        fixed.call_ended(Disposition.COMPLETED, 60.0, T0 - 2000 + i)
    snapshot = fixed.snapshot(T0)
    young = situation(slots=100, busy=(1.0,) * 100, stats=snapshot)
    old = situation(slots=100, busy=(58.0,) * 100, stats=snapshot)
    assert dials(build, "predictive", young) == 0
    assert dials(build, "predictive", old) > 100


@given(
    busy=st.lists(elapsed, max_size=60),
    ringing=st.lists(ring, max_size=60),
    extra=st.lists(ring, min_size=1, max_size=20),
    slots=st.integers(1, 80),
)
@settings(max_examples=60, deadline=None)
def test_predictive_dials_fewer_the_more_are_ringing(
    build: ModuleType, busy: list[float], ringing: list[float], extra: list[float], slots: int
) -> None:
    base = situation(slots=slots, busy=tuple(busy[:slots]), ringing=tuple(ringing))
    more = attrs.evolve(base, ringing_elapsed=(*ringing, *extra))
    assert dials(build, "predictive", more) <= dials(build, "predictive", base)


@given(busy=st.lists(elapsed, max_size=60), slots=st.integers(1, 60), more=st.integers(1, 20))
@settings(max_examples=60, deadline=None)
def test_predictive_dials_more_with_more_slots(
    build: ModuleType, busy: list[float], slots: int, more: int
) -> None:
    held = tuple(busy[:slots])
    assert dials(build, "predictive", situation(slots=slots + more, busy=held)) >= dials(
        build, "predictive", situation(slots=slots, busy=held)
    )


@given(busy=st.lists(elapsed, max_size=60), ringing=st.lists(ring, max_size=60))
@settings(max_examples=60, deadline=None)
def test_predictive_last_dial_stays_within_its_allowance(
    build: ModuleType, busy: list[float], ringing: list[float]
) -> None:
    s = situation(slots=60, busy=tuple(busy), ringing=tuple(ringing))
    decision = build.Predictive().decide(s, PacerMemory())
    if decision.dials:
        assert decision.risk <= decision.allowance


def test_predictive_allowance_starts_below_target_and_shrinks_for_small_fleets(
    build: ModuleType,
) -> None:
    pacer = build.Predictive()
    quiet = attrs.evolve(WARM.abandon, last_hour_answers=0)

    def allowance(slots: int, connects_per_hour: float) -> float:
        stats = attrs.evolve(WARM, abandon=quiet, connects_per_hour=connects_per_hour)
        return float(pacer.allowance(situation(slots=slots, stats=stats), PacerMemory())[0])

    big = allowance(1000, 30_000)
    small = allowance(5, 150)
    assert big == pytest.approx(0.8 * 0.03)
    # 150 answers an hour: a mean of 3.6 abandons (the 2.4 % aim) would often, by chance alone,
    # pass the hour's ceiling of 1.5 x 3 % = 6.75; the allowance keeps mean + 2.5 sd under it,
    # the variance being twice the mean (abandons cluster).
    mean = small * 150
    assert mean + 2.5 * (2 * mean) ** 0.5 == pytest.approx(6.75)
    assert small < big


def test_predictive_backs_off_when_measured_abandons_run_high(build: ModuleType) -> None:
    rates = attrs.evolve(WARM.abandon, last_hour=0.08, last_hour_answers=500)
    hot = situation(slots=100, stats=attrs.evolve(WARM, abandon=rates))
    memory = PacerMemory()
    for _ in range(100):
        memory = build.Predictive().decide(hot, memory).memory
    assert memory.correction < 1.0
    assert build.Predictive().decide(hot, memory).dials < dials(
        build, "predictive", situation(slots=100)
    )


def test_predictive_nearly_stops_spending_when_the_day_is_at_its_limit(build: ModuleType) -> None:
    rates = attrs.evolve(WARM.abandon, today=0.029, today_answers=2000)
    s = situation(slots=100, stats=attrs.evolve(WARM, abandon=rates))
    allowance, _ = build.Predictive().allowance(s, PacerMemory())
    assert allowance <= 0.25 * 0.8 * 0.03


def test_vicidial_raises_its_level_while_agents_sit_ready_and_drops_it_on_abandons(
    build: ModuleType,
) -> None:
    pacer = build.Vicidial()
    memory = PacerMemory()
    idle = situation(slots=10)
    for i in range(5):
        memory = pacer.decide(attrs.evolve(idle, now=T0 + 15 * i), memory).memory
    assert memory.level > 1.0
    rates = attrs.evolve(WARM.abandon, today=0.05, today_answers=100)
    dropping = attrs.evolve(idle, now=T0 + 100, stats=attrs.evolve(WARM, abandon=rates))
    assert pacer.decide(dropping, memory).memory.level == 1.0
    level_3 = attrs.evolve(memory, level=3.0, level_adjusted_at=T0 + 100)
    s = situation(slots=10, busy=(5.0,) * 10, ringing=(1.0,) * 5)
    s = attrs.evolve(s, now=T0 + 101)
    assert pacer.decide(s, level_3).dials == 30 - 15


@given(
    x=st.floats(-1e6, 1e6)
    | st.integers(-2000, 2000).map(lambda n: n / 2)
    | st.integers(-2000, 2000).map(lambda n: n / 10 * 10)
)
@settings(max_examples=500)
def test_the_pacers_rounding_is_the_builtins(build: ModuleType, x: float) -> None:
    """Halves (ties go to the even neighbour) and tenths of a second times ten included."""
    assert build._round(x) == round(x)


def test_pace_gives_each_pacers_decision_as_its_fields(build: ModuleType) -> None:
    """The planner's path (`pace`, which builds no `PacingInput` for this module's pacers and
    carries the memory as a memory and a correction) decides as `decide` does, for every
    strategy, with and without contacts left, with the memory's own correction or another."""
    memory = PacerMemory(level=1.4, level_adjusted_at=T0 - 60.0, correction=0.9)
    # The `pace` that `plan_tick` imports takes either build's pacers (the bench times the
    # source's through it).
    paces = [build.pace, voxcore_domain.pacing.pace]
    cases = [(None, 0.9), (0, 0.9), (3, 0.9), (None, 1.7)]
    for mode, pace, (available, correction) in itertools.product(MODES, paces, cases):
        pacer = build.pacer_for(PacingMode.parse(mode))
        s = situation(
            slots=40,
            busy=tuple(float(10 * i) for i in range(25)),
            ringing=(1.0, 4.5, 12.0),
            waiting=1,
            available=available,
        )
        dials, after, learned, allowance, risk = pace(
            pacer,
            s.now,
            s.slots,
            s.busy_elapsed,
            s.ringing_elapsed,
            s.waiting,
            s.stats,
            s.abandon_target,
            s.ring_timeout_s,
            s.tick_s,
            s.available,
            memory,
            correction,
        )
        decision = pacer.decide(s, build.corrected(memory, correction))
        assert (dials, build.corrected(after, learned), allowance, risk) == attrs.astuple(
            decision, recurse=False
        ), (mode, available, correction)


@given(keys=st.lists(st.integers(-3, 40), max_size=40))
@settings(max_examples=300)
def test_grouping_is_counters(build: ModuleType, keys: list[int]) -> None:
    """First-seen order and counts, with few keys and many, all different or not."""
    counted = Counter(keys)
    assert build._grouped(keys) == (list(counted), list(counted.values()))
