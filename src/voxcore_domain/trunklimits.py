"""What a trunk lets the dialler dial: calls per second, channels, carrier back-off, and a circuit
breaker for a carrier that keeps failing.

A trunk's carrier accepts `Trunk.cps` call set-ups a second and `Trunk.channels` calls at once,
whatever campaign they come from, so these limits are the tick's dial budget per trunk, shared by
every campaign on it. The calls-per-second limit is a token bucket (`ratelimit.TokenBucket`) of
burst 1: dials on a trunk start at least 1/cps seconds apart. A tick plans the dials whose token
comes before the next tick (`dial_budget`); each dial takes its token when it is placed
(`TrunkState.reserve`) and waits for it, so a tick's dials are spread over the tick instead of
leaving together.

The carrier's own word overrides the bucket: a CPS-limit refusal (`TrunkThrottled`) stops the
trunk for its retry-after. A carrier that fails dials (SIP 5xx, or the provider failing the dial
outright) `BreakerPolicy.failures` times in a row takes the trunk down for `open_s`; then a single
probe dial is let through (half-open). The probe connecting closes the breaker; failing takes the
trunk down again for twice as long, up to `max_open_s`. Other trunks keep dialling meanwhile.

Times are POSIX seconds (floats) as in `plan_tick`; the bucket keeps whole microseconds.
"""

from __future__ import annotations

import functools
import math
from enum import StrEnum

import attrs

from voxcore_domain import validators as v
from voxcore_domain.ratelimit import MAX_RATE, MICRO, MIN_RATE, BucketState, TokenBucket, wait_for
from voxcore_domain.trunks import Trunk


class Circuit(StrEnum):
    CLOSED = "closed"
    """Dialling normally."""
    OPEN = "open"
    """Down after repeated carrier failures: no dials."""
    HALF_OPEN = "half_open"
    """The cool-down is over: one probe dial may go out."""


@attrs.frozen
class BreakerPolicy:
    """When a failing carrier takes its trunk down, and for how long."""

    failures: int = attrs.field(default=5, validator=v.positive_int)
    """Carrier failures in a row (no success between) that take the trunk down."""
    open_s: float = attrs.field(default=30.0, validator=v.positive)
    """First cool-down before a probe."""
    max_open_s: float = attrs.field(default=300.0, validator=v.positive)
    """Longest cool-down: each failed probe doubles it up to this."""
    probe_timeout_s: float = attrs.field(default=120.0, validator=v.positive)
    """A probe with no outcome after this long (its task died) no longer blocks the next."""


def carrier_failed(sip_status: int | None) -> bool:
    """A dial's SIP status says the carrier, not the callee, failed it (a 5xx)."""
    return sip_status is not None and 500 <= sip_status < 600


def bucket_of(trunk: Trunk) -> TokenBucket:
    """The trunk's calls-per-second bucket: one token at a time, `cps` tokens a second."""
    return _bucket(min(MAX_RATE, max(MIN_RATE, float(trunk.cps))))


@functools.lru_cache(maxsize=1024)
def _bucket(rate: float) -> TokenBucket:
    # Built (and checked) once per rate: every trunk's budget asks for it every tick.
    return TokenBucket(rate=rate, burst=1)


def _us(now: float) -> int:
    return round(now * MICRO)


def _take_from(tokens: TokenBucket, state: BucketState | None, at: int) -> tuple[int, BucketState]:
    """The first microsecond at or after `at` when the bucket has a token, and its state once
    that token is taken. Tokens already taken for later dials come first.

    `ratelimit.take` of one token at `at`, and again after its retry-after if refused, spelt out
    over the integers it works on: a tick asks this for every dial of every trunk, and `take`
    builds an `Admission` (a timedelta, a datetime) each time. `test_trunk_tokens` holds the two
    equal."""
    if state is None:
        return at, BucketState(tokens.capacity - MICRO, at)
    since = state.at_us
    if at < since:
        at = since
    rate = float(tokens.rate)
    held = min(tokens.capacity, state.micro_tokens + math.floor((at - since) * rate))
    if held < MICRO:
        at += wait_for(tokens, MICRO - held)
        held = min(tokens.capacity, state.micro_tokens + math.floor((at - since) * rate))
    # Taken if there (the retry-after makes sure it is): a refused take takes nothing.
    return at, BucketState(held - MICRO if held >= MICRO else held, at)


@attrs.frozen
class TrunkState:
    """What the dialler remembers about one trunk between ticks and dials."""

    bucket: BucketState | None = None
    """Its calls-per-second bucket; None for a full one."""
    backoff_until: float = 0.0
    """No dials before this: the carrier's last CPS-limit refusal plus its retry-after."""
    failures: int = 0
    """Carrier failures since the last success."""
    down_until: float | None = None
    """The breaker is open until this, half-open after it; None while closed."""
    down_for_s: float = 0.0
    """The cool-down the breaker last opened for."""
    probe_at: float | None = None
    """When the half-open probe was placed; None while no probe is out."""

    def circuit(self, now: float) -> Circuit:
        if self.down_until is None:
            return Circuit.CLOSED
        return Circuit.OPEN if now < self.down_until else Circuit.HALF_OPEN

    def probing(self, now: float, policy: BreakerPolicy) -> bool:
        return self.probe_at is not None and now - self.probe_at < policy.probe_timeout_s

    def stopped(self, now: float, policy: BreakerPolicy) -> bool:
        """No dial may go out now: backing off, down, or its probe still out."""
        circuit = self.circuit(now)
        return (
            now < self.backoff_until
            or circuit is Circuit.OPEN
            or (circuit is Circuit.HALF_OPEN and self.probing(now, policy))
        )

    def reserve(self, trunk: Trunk | None, now: float) -> tuple[float, TrunkState]:
        """Take the next calls-per-second token for a dial placed at `now`: when the dial may
        start (`now` or later) and the state after; with no `trunk` (its limits unknown) the
        dial starts at once. A dial placed while half-open is the probe."""
        probe_at = now if self.circuit(now) is Circuit.HALF_OPEN else self.probe_at
        if trunk is None:
            return now, attrs.evolve(self, probe_at=probe_at)
        at, state = _take_from(bucket_of(trunk), self.bucket, _us(now))
        return at / MICRO, attrs.evolve(self, bucket=state, probe_at=probe_at)

    def throttled(self, now: float, retry_after_s: float) -> TrunkState:
        """The carrier refused a dial for its CPS limit. The carrier answered, so a probe is
        over, neither passed nor failed: another goes out after the back-off."""
        until = now + max(0.0, retry_after_s) if math.isfinite(retry_after_s) else now
        return attrs.evolve(self, backoff_until=max(self.backoff_until, until), probe_at=None)

    def failed(self, now: float, policy: BreakerPolicy) -> TrunkState:
        """The carrier failed a dial (5xx, or the provider failed the dial itself)."""
        circuit = self.circuit(now)
        if circuit is Circuit.CLOSED:
            failures = self.failures + 1
            if failures < policy.failures:
                return attrs.evolve(self, failures=failures)
            return attrs.evolve(
                self, failures=0, down_until=now + policy.open_s, down_for_s=policy.open_s
            )
        if self.probe_at is None:
            # A dial placed before the breaker opened: already counted in the decision to open.
            return self
        down_for = min(policy.max_open_s, self.down_for_s * 2)
        return attrs.evolve(self, down_until=now + down_for, down_for_s=down_for, probe_at=None)

    def succeeded(self) -> TrunkState:
        """The carrier put a dial through (whatever the callee did): the trunk is healthy."""
        return attrs.evolve(self, failures=0, down_until=None, down_for_s=0.0, probe_at=None)


@attrs.frozen
class TrunkLoad:
    """One trunk at the start of a tick, as `plan_tick` takes it."""

    trunk: Trunk
    state: TrunkState = attrs.field(factory=TrunkState)
    in_use: int = attrs.field(default=0, validator=v.count)
    """Its calls holding a channel now: ringing, answered, on a worker."""
    policy: BreakerPolicy = attrs.field(factory=BreakerPolicy)


def dial_budget(load: TrunkLoad, now: float, tick_s: float, most: int) -> int:
    """Most new dials the trunk takes this tick, and no more than `most`.

    None while disabled, backing off or down; one while half-open and no probe is out; else the
    dials whose calls-per-second token comes before the next tick, within the free channels.
    """
    trunk, state = load.trunk, load.state
    if not trunk.enabled or state.stopped(now, load.policy) or most <= 0:
        return 0
    if state.circuit(now) is Circuit.HALF_OPEN:
        most = 1
    if trunk.channels is not None:
        most = min(most, trunk.channels - load.in_use)
    count = 0
    end = _us(now + tick_s)
    bucket = state.bucket
    tokens = bucket_of(trunk)
    start = _us(now)
    # The same takes the dials will make, one after another, all placed at the start of the tick.
    while count < most:
        start, bucket = _take_from(tokens, bucket, start)
        if start >= end:
            break
        count += 1
    return count
