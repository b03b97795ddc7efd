"""Token buckets: how many carrier calls per second a trunk may start.

A bucket holds up to `burst` tokens and gains `rate` tokens a second; a call takes one (or
`cost`) token or waits. The arithmetic runs on whole micro-tokens and microseconds so that the
Redis adapter's Lua script (IEEE doubles, like Python floats) reproduces `take` exactly: the
in-memory fake and several diallers sharing one Redis bucket follow the same rule.

A missing state means a full bucket, so a store may forget a bucket once it would have refilled.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import attrs

from voxcore_domain.errors import ValidationError

MICRO = 1_000_000
"""Micro-tokens per token, and microseconds per second."""

MAX_RATE = 1_000_000.0
MIN_RATE = 0.001
"""One token every 1000 s at the slowest: slower buckets are configuration mistakes."""
MAX_BURST = 1_000_000
"""Keeps micro-token counts far below 2**53, where doubles stop counting exactly."""

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(instant: datetime) -> int:
    """Microseconds since the Unix epoch, exactly (no float on the way)."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValidationError("now", "must be a timezone-aware datetime")
    return (instant - EPOCH) // timedelta(microseconds=1)


def from_micros(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


@attrs.frozen
class TokenBucket:
    """A limit: `rate` tokens a second, at most `burst` at once."""

    rate: float = attrs.field()
    """Tokens gained per second (for a trunk: calls per second)."""
    burst: int = attrs.field()
    """Most tokens the bucket holds: calls that may start back to back after a quiet spell."""

    @rate.validator
    def _rate(self, attribute: attrs.Attribute[float], value: float) -> None:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not MIN_RATE <= value <= MAX_RATE
        ):
            raise ValidationError(
                attribute.name, f"must be a number from {MIN_RATE} to {MAX_RATE:g}, got {value!r}"
            )

    @burst.validator
    def _burst(self, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_BURST:
            raise ValidationError(
                attribute.name, f"must be a whole number from 1 to {MAX_BURST}, got {value!r}"
            )

    @property
    def capacity(self) -> int:
        """`burst` in micro-tokens."""
        return self.burst * MICRO

    def check_cost(self, cost: int) -> int:
        """`cost` in micro-tokens; `ValidationError` unless 1 ≤ cost ≤ burst (a larger cost
        could never be admitted)."""
        if isinstance(cost, bool) or not isinstance(cost, int) or not 1 <= cost <= self.burst:
            raise ValidationError("cost", f"must be a whole number from 1 to {self.burst}")
        return cost * MICRO


@attrs.frozen
class BucketState:
    """What a store keeps per bucket."""

    micro_tokens: int
    """Tokens left, in millionths."""
    at_us: int
    """When `micro_tokens` was counted, in microseconds since the epoch."""


@attrs.frozen
class Admission:
    """The answer to one request for tokens."""

    allowed: bool
    remaining: float
    """Tokens left after this request."""
    retry_after: timedelta
    """How long until the request would be admitted, if nobody else takes tokens; zero when
    allowed."""
    at: datetime
    """When the bucket was read, by the bucket's clock (the Redis server's, for Redis)."""


def refill(bucket: TokenBucket, state: BucketState | None, now_us: int) -> BucketState:
    """The bucket's state at `now_us`: full when unknown, never above `burst`. A clock that
    steps back adds nothing and does not move the state's time back."""
    if state is None:
        return BucketState(bucket.capacity, now_us)
    elapsed = max(0, now_us - state.at_us)
    # rate tokens/s is rate micro-tokens/µs; floor keeps the count whole.
    gained = math.floor(elapsed * float(bucket.rate))
    return BucketState(min(bucket.capacity, state.micro_tokens + gained), max(state.at_us, now_us))


def take(
    bucket: TokenBucket, state: BucketState | None, now_us: int, cost: int = 1
) -> tuple[Admission, BucketState]:
    """Take `cost` tokens at `now_us` if the bucket has them; the answer and the new state.
    A refused request takes nothing."""
    needed = bucket.check_cost(cost)
    current = refill(bucket, state, now_us)
    allowed = current.micro_tokens >= needed
    if allowed:
        left = current.micro_tokens - needed
        wait_us = 0
    else:
        left = current.micro_tokens
        wait_us = wait_for(bucket, needed - left)
    admission = Admission(
        allowed=allowed,
        remaining=left / MICRO,
        retry_after=timedelta(microseconds=wait_us),
        at=from_micros(now_us),
    )
    return admission, BucketState(left, current.at_us)


def wait_for(bucket: TokenBucket, missing: int) -> int:
    """Whole microseconds after which `refill` surely has gained `missing` micro-tokens, at
    most one more than the exact quotient."""
    wait = math.ceil(missing / float(bucket.rate))
    # The division can round down across a whole number, and then `refill`'s multiplication
    # would come up one short: check with the multiplication itself.
    while math.floor(wait * float(bucket.rate)) < missing:
        wait += 1
    return wait


def full_in_us(bucket: TokenBucket, state: BucketState) -> int:
    """Microseconds until `state` would be full again: after that a store may drop it."""
    return wait_for(bucket, bucket.capacity - state.micro_tokens)
