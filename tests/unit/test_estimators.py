from __future__ import annotations

import math
import random
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxcore_domain.estimators import (
    AbandonCounter,
    AnswerRate,
    CampaignStats,
    DurationEstimator,
    Durations,
    counts_as_live_answer,
)
from voxcore_domain.model import Disposition

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC).timestamp()


def test_answer_rate_starts_cautious_and_learns_the_true_rate() -> None:
    rate = AnswerRate()
    cold = rate.view(T0)
    assert cold.planning() > 0.6, "with no data the pacer must assume many answers"
    rng = random.Random(1)
    for i in range(3000):
        rate.observe(rng.random() < 0.25, T0 + i)
    warm = rate.view(T0 + 3100)
    assert abs(warm.mean - 0.25) < 0.04
    assert warm.std < cold.std / 4


def test_answer_rate_follows_a_change_within_a_few_half_lives() -> None:
    rate = AnswerRate(half_life=200)
    rng = random.Random(2)
    for i in range(3000):
        rate.observe(rng.random() < (0.5 if i < 2000 else 0.1), T0 + i)
        if i % 10 == 0:
            rate.view(T0 + i)  # as the pacer does, every tick
    assert abs(rate.view(T0 + 3030).mean - 0.1) < 0.05


def test_answer_rate_waits_for_ring_outs_before_counting_a_burst_of_dials() -> None:
    rate = AnswerRate(settle_s=30.0)
    for _ in range(1000):
        rate.observe(True, T0)  # the answers of a burst come back within seconds
    assert rate.view(T0 + 10).observations == 0
    for _ in range(3000):
        rate.observe(False, T0)  # the ring-outs of the same burst only at the ring timeout
    settled = rate.view(T0 + 30)
    assert settled.observations > 0
    assert abs(settled.mean - 0.25) < 0.05


def test_durations_of_exponential_calls_are_memoryless() -> None:
    estimator = DurationEstimator(prior_mean=120.0, prior_strength=1.0)
    rng = random.Random(3)
    for _ in range(2000):
        estimator.add(rng.expovariate(1 / 120))
    durations = estimator.snapshot(T0)
    expected = 1 - math.exp(-10 / 120)
    for elapsed in (0, 30, 120, 240):
        assert abs(durations.ends_within(elapsed, 10) - expected) < 0.03
    assert abs(durations.mean() - 120) < 10


def test_fixed_length_calls_are_forecast_to_end_on_time() -> None:
    estimator = DurationEstimator(prior_mean=60.0, prior_strength=1.0)
    for _ in range(1000):
        estimator.add(90.0)
    durations = estimator.snapshot(T0)
    assert durations.ends_within(85, 10) > 0.95
    assert durations.ends_within(10, 10) < 0.05
    assert durations.endings(85, (2, 10)) == (
        durations.ends_within(85, 2),
        durations.ends_within(85, 10),
    )


def test_calls_still_running_stop_the_first_short_ones_from_skewing_the_forecast() -> None:
    estimator = DurationEstimator(prior_mean=60.0, prior_strength=1.0)
    for _ in range(20):
        estimator.add(10.0)  # one minute into a campaign, only the short calls have ended
    naive = estimator.snapshot(T0)
    informed = DurationEstimator(prior_mean=60.0, prior_strength=1.0)
    for _ in range(20):
        informed.add(10.0)
    censored = informed.snapshot(T0, ongoing=[50.0] * 180)
    assert naive.ends_within(5, 10) > 0.9
    # 20 of the 200 calls started have ended, at 10 s; 180 are still going at 50 s.
    assert censored.ends_within(5, 10) == pytest.approx(0.1, abs=0.03)


def test_duration_snapshot_is_rebuilt_only_after_its_refresh_time() -> None:
    estimator = DurationEstimator(prior_mean=60.0, refresh_s=60.0)
    first = estimator.snapshot(T0)
    estimator.add(5.0)
    assert estimator.snapshot(T0 + 30) is first
    assert estimator.snapshot(T0 + 61) is not first


@given(
    samples=st.lists(st.floats(0, 3600, allow_nan=False), max_size=50),
    elapsed=st.floats(0, 20000, allow_nan=False),
    horizon=st.floats(0, 600, allow_nan=False),
    more=st.floats(0, 600, allow_nan=False),
)
def test_ending_probability_is_a_probability_growing_with_the_horizon(
    samples: list[float], elapsed: float, horizon: float, more: float
) -> None:
    estimator = DurationEstimator(prior_mean=120.0)
    for s in samples:
        estimator.add(s)
    durations = estimator.snapshot(T0)
    p = durations.ends_within(elapsed, horizon)
    assert -1e-9 <= p <= 1 + 1e-9
    assert durations.ends_within(elapsed, horizon + more) >= p - 1e-9


def test_abandon_rate_counts_the_regulators_way() -> None:
    assert counts_as_live_answer(Disposition.COMPLETED)
    assert counts_as_live_answer(Disposition.ABANDONED)
    assert not counts_as_live_answer(Disposition.VOICEMAIL)
    assert not counts_as_live_answer(Disposition.NO_ANSWER)

    counter = AbandonCounter()
    for _ in range(97):
        counter.record(Disposition.COMPLETED, T0)
    for _ in range(3):
        counter.record(Disposition.ABANDONED, T0)
    for _ in range(50):
        counter.record(Disposition.VOICEMAIL, T0)
    rates = counter.rates(T0 + 1)
    assert rates.last_hour == rates.today == rates.last_30_days == 0.03
    assert rates.last_hour_answers == 100


def test_abandon_windows_forget_at_their_own_pace() -> None:
    counter = AbandonCounter(timezone="America/New_York")
    counter.record(Disposition.ABANDONED, T0)  # 07:00 in New York
    counter.record(Disposition.COMPLETED, T0 + 7200)
    two_hours_later = counter.rates(T0 + 7200)
    assert two_hours_later.last_hour == 0.0
    assert two_hours_later.today == 0.5
    next_day = counter.rates(T0 + 86400)
    assert next_day.today_answers == 0
    assert next_day.last_30_days == 0.5
    assert counter.rates(T0 + 31 * 86400).last_30_days_answers == 0


def test_today_starts_at_local_midnight() -> None:
    counter = AbandonCounter(timezone="Asia/Kolkata")  # UTC+05:30
    midnight = datetime(2026, 3, 2, 18, 30, tzinfo=UTC).timestamp()
    counter.record(Disposition.ABANDONED, midnight - 60)
    counter.record(Disposition.COMPLETED, midnight + 60)
    rates = counter.rates(midnight + 120)
    assert (rates.today_answers, rates.today) == (1, 0.0)
    assert rates.last_hour_answers == 2


def test_campaign_stats_feed_every_estimator() -> None:
    stats = CampaignStats()
    for i in range(40):
        stats.dial_resolved(True, 6.0, T0 + i * 60)
        stats.dial_resolved(False, 25.0, T0 + i * 60)
        stats.call_ended(Disposition.COMPLETED, 100.0, T0 + i * 60 + 100)
    snapshot = stats.snapshot(T0 + 3000)
    assert snapshot.answer_rate.mean < 0.55
    assert snapshot.answer_delay.ends_within(0, 7) > snapshot.answer_delay.ends_within(0, 5)
    assert snapshot.abandon.last_hour_answers > 0
    assert 40 <= snapshot.connects_per_hour <= 60


@given(
    grid=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=40),
    tail_mean=st.floats(0.5, 600.0),
    ts=st.lists(st.floats(-5.0, 80.0), max_size=30),
)
def test_cdfs_is_cdf_point_by_point_to_the_last_bit(
    grid: list[float], tail_mean: float, ts: list[float]
) -> None:
    durations = Durations(survival=tuple(sorted(grid, reverse=True)), tail_mean=tail_mean)
    assert durations.cdfs(ts) == [durations.cdf(t) for t in ts]
