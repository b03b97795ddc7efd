"""`trunklimits._take_from` is `ratelimit.take` of one token, retried after its retry-after when
refused, spelt out over integers: the two must agree on every bucket, state and instant."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import example, given
from hypothesis import strategies as st

from voxcore_domain.ratelimit import MAX_RATE, MIN_RATE, BucketState, TokenBucket, take
from voxcore_domain.trunklimits import _take_from

NOW_US = 1_767_600_000_000_000


def through_take(
    tokens: TokenBucket, state: BucketState | None, at: int
) -> tuple[int, BucketState]:
    """The first microsecond a token is there, asked of `take` as a client would."""
    if state is not None:
        at = max(at, state.at_us)
    admission, taken = take(tokens, state, at)
    if not admission.allowed:
        at += admission.retry_after // timedelta(microseconds=1)
        admission, taken = take(tokens, state, at)
    return at, taken


RATES = st.sampled_from([MIN_RATE, 0.3, 1.0, 3.0, 7.0, 33.3, 1000.0, MAX_RATE]) | st.floats(
    MIN_RATE, MAX_RATE
)


@given(
    rate=RATES,
    burst=st.integers(1, 5),
    state=st.none()
    | st.builds(
        BucketState, st.integers(0, 5_000_000), st.integers(NOW_US - 10**7, NOW_US + 10**7)
    ),
    at=st.integers(NOW_US - 10**7, NOW_US + 10**7),
    takes=st.integers(1, 8),
)
@example(rate=3.0, burst=1, state=BucketState(0, NOW_US), at=NOW_US, takes=4)
@example(rate=0.3, burst=1, state=BucketState(999_999, NOW_US + 5), at=NOW_US, takes=3)
@example(rate=0.3, burst=2, state=BucketState(0, NOW_US + 1), at=NOW_US, takes=1)
def test_a_token_comes_when_take_gives_it(
    rate: float, burst: int, state: BucketState | None, at: int, takes: int
) -> None:
    tokens = TokenBucket(rate=rate, burst=burst)
    if state is not None:
        state = BucketState(min(state.micro_tokens, tokens.capacity), state.at_us)
    ours, theirs = state, state
    start, expected = at, at
    for _ in range(takes):
        start, ours = _take_from(tokens, ours, start)
        expected, theirs = through_take(tokens, theirs, expected)
        assert (start, ours) == (expected, theirs)
