"""Token-bucket arithmetic: bursts, refill, exact waits, and the limits of a bucket."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxcore_domain.errors import ValidationError
from voxcore_domain.model import utc
from voxcore_domain.ratelimit import (
    MICRO,
    BucketState,
    TokenBucket,
    from_micros,
    full_in_us,
    refill,
    take,
    to_micros,
)

T0 = to_micros(utc(2024, 6, 5, 12))
SECOND = MICRO


def test_a_new_bucket_is_full_and_admits_its_burst_back_to_back() -> None:
    bucket = TokenBucket(rate=2, burst=3)
    state = None
    answers = []
    for _ in range(4):
        answer, state = take(bucket, state, T0)
        answers.append(answer)
    assert [a.allowed for a in answers] == [True, True, True, False]
    assert [a.remaining for a in answers] == [2, 1, 0, 0]
    assert answers[-1].retry_after == timedelta(seconds=0.5)
    assert answers[0].at == from_micros(T0)


def test_tokens_come_back_at_the_rate() -> None:
    bucket = TokenBucket(rate=2, burst=3)
    _, state = take(bucket, None, T0, cost=3)
    early, state = take(bucket, state, T0 + SECOND // 4)
    assert not early.allowed
    assert early.remaining == 0.5
    assert early.retry_after == timedelta(seconds=0.25)
    on_time, state = take(bucket, state, T0 + SECOND // 2)
    assert on_time.allowed
    assert on_time.retry_after == timedelta(0)


def test_a_long_pause_refills_to_the_burst_and_no_further() -> None:
    bucket = TokenBucket(rate=10, burst=2)
    _, state = take(bucket, None, T0, cost=2)
    assert refill(bucket, state, T0 + 3600 * SECOND) == BucketState(2 * MICRO, T0 + 3600 * SECOND)


def test_a_refused_request_takes_nothing() -> None:
    bucket = TokenBucket(rate=1, burst=3)
    _, state = take(bucket, None, T0, cost=2)
    refused, state = take(bucket, state, T0, cost=2)
    assert not refused.allowed
    assert state.micro_tokens == MICRO
    assert take(bucket, state, T0)[0].allowed


def test_a_clock_stepping_back_adds_nothing_and_keeps_the_states_time() -> None:
    bucket = TokenBucket(rate=1, burst=1)
    _, state = take(bucket, None, T0)
    answer, after = take(bucket, state, T0 - 10 * SECOND)
    assert not answer.allowed
    assert after == BucketState(0, T0)


def test_an_unknown_bucket_counts_as_full_once_it_would_have_refilled() -> None:
    bucket = TokenBucket(rate=3, burst=2)
    _, state = take(bucket, None, T0, cost=2)
    later = T0 + full_in_us(bucket, state)
    assert refill(bucket, state, later) == refill(bucket, None, later)


@pytest.mark.parametrize(
    ("rate", "burst", "field"),
    [
        (0, 1, "rate"),
        (-1.0, 1, "rate"),
        (float("nan"), 1, "rate"),
        (2_000_000.0, 1, "rate"),
        (True, 1, "rate"),
        (1.0, 0, "burst"),
        (1.0, 1.5, "burst"),
        (1.0, 10_000_000, "burst"),
    ],
)
def test_a_bucket_that_makes_no_sense_is_refused_by_name(
    rate: float, burst: int, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        TokenBucket(rate=rate, burst=burst)
    assert refused.value.field == field


@pytest.mark.parametrize("cost", [0, -1, 4, True])
def test_a_cost_the_bucket_could_never_admit_is_refused(cost: int) -> None:
    with pytest.raises(ValidationError) as refused:
        take(TokenBucket(rate=1, burst=3), None, T0, cost=cost)
    assert refused.value.field == "cost"


def test_instants_must_carry_a_time_zone() -> None:
    with pytest.raises(ValidationError) as refused:
        to_micros(datetime(2024, 6, 5, 12))
    assert refused.value.field == "now"


buckets = st.builds(
    TokenBucket,
    rate=st.floats(0.001, 1_000_000, allow_nan=False, allow_infinity=False),
    burst=st.integers(1, 1_000_000),
)
steps = st.lists(
    st.tuples(st.integers(0, 5 * SECOND), st.integers(1, 1_000_000)), min_size=1, max_size=40
)


@given(bucket=buckets, steps=steps)
def test_admissions_never_outrun_burst_plus_rate_and_waits_suffice(
    bucket: TokenBucket, steps: list[tuple[int, int]]
) -> None:
    state: BucketState | None = None
    now = T0
    admitted = 0
    for pause, wanted in steps:
        now += pause
        cost = min(wanted, bucket.burst)
        answer, state = take(bucket, state, now, cost)
        assert 0 <= state.micro_tokens <= bucket.capacity
        if answer.allowed:
            admitted += cost * MICRO
        else:
            # Waiting as told is enough, and not much more than the exact quotient.
            wait = answer.retry_after // timedelta(microseconds=1)
            assert take(bucket, state, now + wait, cost)[0].allowed
            exact = (cost * MICRO - state.micro_tokens) / bucket.rate
            assert wait <= exact + 2
        assert admitted <= bucket.capacity + (now - T0) * bucket.rate


@given(bucket=buckets, tokens=st.integers(0, 1_000_000), at=st.integers(0, 10**16))
def test_after_full_in_the_bucket_is_full(bucket: TokenBucket, tokens: int, at: int) -> None:
    state = BucketState(min(tokens * MICRO // 1000, bucket.capacity), at)
    assert refill(bucket, state, at + full_in_us(bucket, state)).micro_tokens == bucket.capacity
