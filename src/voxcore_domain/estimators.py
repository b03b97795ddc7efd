"""What the dialler measures about a campaign, for pacing: answer rate, how long calls last,
how long phones ring before they are answered, and the abandon rate in the regulators' windows.

Times here are POSIX seconds (floats): these accumulators take one observation per call event,
hundreds of thousands of times in a simulated day, and the pacer reads them every tick.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import datetime, time, timedelta
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

import attrs

from voxcore_domain.model import Disposition

T = TypeVar("T")

# -- answer rate -------------------------------------------------------------------------------


@attrs.frozen
class AnswerRateView:
    """The answer rate as pacing sees it: a mean and its uncertainty."""

    mean: float
    """Expected share of dials that connect (a person or a machine: both need a slot)."""
    std: float
    """Standard deviation of that estimate; large at cold start."""
    observations: float
    """Effective number of dials behind the estimate, after decay."""

    def planning(self, z: float = 1.0) -> float:
        """A deliberately high answer rate: over-estimating answers under-dials, which is safe."""
        return min(1.0, self.mean + z * self.std)


@attrs.define
class AnswerRate:
    """Beta-distributed answer rate with exponential forgetting, so it follows changes in who
    picks up (time of day, list quality) within a few hundred dials.

    Answers come back within seconds, ring-outs only at the ring timeout: counting outcomes as
    they arrive would see a burst of answers, then a burst of failures, after every burst of
    dials. So an outcome is folded in only once every dial placed at the same moment has had
    its outcome (`settle_s` after dialling), in dialling order.
    """

    settle_s: float = 30.0
    """Longest a dial can take to resolve: the ring timeout, plus set-up time."""
    prior_mean: float = 0.5
    """Assumed before any dial: high on purpose, so a new campaign starts by under-dialling."""
    prior_strength: float = 4.0
    """How many dials the prior is worth."""
    half_life: float = 400.0
    """Dials after which an observation's weight has halved."""
    _answered: float = 0.0
    _dials: float = 0.0
    _pending: list[tuple[float, int, bool]] = attrs.field(factory=list)
    _order: int = 0

    def observe(self, answered: bool, dialed_at: float) -> None:
        self._order += 1
        heapq.heappush(self._pending, (dialed_at, self._order, answered))

    def view(self, now: float) -> AnswerRateView:
        settled = now - self.settle_s
        pending = self._pending
        answers = dials = 0
        while pending and pending[0][0] <= settled:
            answers += heapq.heappop(pending)[2]
            dials += 1
        if dials:
            # The newly settled dials weigh alike: forgetting within them would favour
            # whichever outcome happened to be reported last.
            keep = 0.5 ** (dials / self.half_life)
            self._answered = self._answered * keep + answers
            self._dials = self._dials * keep + dials
        a = self.prior_mean * self.prior_strength + self._answered
        n = self.prior_strength + self._dials
        mean = a / n
        return AnswerRateView(
            mean=mean, std=math.sqrt(mean * (1.0 - mean) / (n + 1.0)), observations=self._dials
        )


# -- durations: handle time and ring time before answer ------------------------------------------


@attrs.frozen
class Durations:
    """A snapshot of a duration distribution: survival on a one-second grid, with an
    exponential tail past the grid. Blends the measured samples with a prior so a new campaign
    has a usable, deliberately cautious shape."""

    survival: tuple[float, ...]
    """survival[s] = P(duration > s seconds)."""
    tail_mean: float
    """Mean of the exponential that continues the survival past the grid."""
    _memo: dict[Hashable, Any] = attrs.field(factory=dict, init=False, eq=False, repr=False)
    """Pacing asks the same questions every tick while a snapshot lives: answers kept here."""

    def memo(self, key: Hashable, compute: Callable[..., T], *args: Any) -> T:
        """`compute(*args)`, worked out once per snapshot and `key` (the arguments, rather than
        a closure over them, spare pacing a function object per campaign and tick)."""
        try:
            return cast(T, self._memo[key])
        except KeyError:
            value = self._memo[key] = compute(*args)
            return value

    def survival_at(self, t: float) -> float:
        if t <= 0.0:
            return 1.0
        grid = self.survival
        i = int(t)
        if i + 1 < len(grid):
            frac = t - i
            return grid[i] * (1.0 - frac) + grid[i + 1] * frac
        last = len(grid) - 1
        return grid[last] * math.exp(-(t - last) / self.tail_mean)

    def survival_seconds(self, s: int) -> float:
        """`survival_at` for whole seconds: a list lookup, for pacing's inner loop."""
        grid = self.survival
        if s < len(grid):
            return grid[s] if s > 0 else 1.0
        last = len(grid) - 1
        return grid[last] * math.exp(-(s - last) / self.tail_mean)

    def endings(self, elapsed: int, horizons: tuple[int, ...]) -> tuple[float, ...]:
        """`ends_within(elapsed, h)` for each whole-second horizon h, on the whole-second grid
        (pacing's own loop covers the grid; this, the calls off it)."""
        alive = self.survival_seconds(elapsed)
        if alive <= 1e-12:
            return (1.0,) * len(horizons)
        return tuple(1.0 - self.survival_seconds(elapsed + h) / alive for h in horizons)

    def cdf(self, t: float) -> float:
        return 1.0 - self.survival_at(t)

    def cdfs(self, ts: Iterable[float]) -> list[float]:
        """`cdf(t)` for each t, by the same arithmetic to the last bit: one call for many
        points, for pacing."""
        grid = self.survival
        inner = len(grid) - 1
        tail = grid[inner]
        values = []
        for t in ts:
            if t <= 0.0:
                values.append(0.0)
                continue
            i = int(t)
            if i < inner:
                frac = t - i
                values.append(1.0 - (grid[i] * (1.0 - frac) + grid[i + 1] * frac))
            else:
                values.append(1.0 - tail * math.exp(-(t - inner) / self.tail_mean))
        return values

    def ends_within(self, elapsed: float, horizon: float) -> float:
        """P(it ends within `horizon` more seconds | it has lasted `elapsed` seconds)."""
        alive = self.survival_at(elapsed)
        if alive <= 1e-12:
            return 1.0 - math.exp(-horizon / self.tail_mean)
        return 1.0 - self.survival_at(elapsed + horizon) / alive

    def mean(self) -> float:
        grid = self.survival
        body = sum(grid) - 0.5 * (grid[0] + grid[-1])
        return body + grid[-1] * self.tail_mean


@attrs.define
class DurationEstimator:
    """Recent durations (talk time, or ring time until answer) and a cached `Durations` snapshot
    rebuilt at most every `refresh_s` seconds: pacing reads it every tick, samples arrive per
    call."""

    prior_mean: float
    """Mean of the exponential prior, in seconds."""
    prior_strength: float = 20.0
    """How many samples the prior is worth."""
    max_samples: int = 2000
    refresh_s: float = 60.0
    max_grid_s: int = 4 * 3600
    _samples: deque[float] = attrs.field(init=False)
    _snapshot: Durations | None = attrs.field(init=False, default=None)
    _built_at: float = attrs.field(init=False, default=-math.inf)
    _built_with: int = attrs.field(init=False, default=0)

    def __attrs_post_init__(self) -> None:
        self._samples = deque(maxlen=self.max_samples)

    def add(self, seconds: float) -> None:
        self._samples.append(max(0.0, seconds))

    def count(self) -> int:
        return len(self._samples)

    def snapshot(self, now: float, ongoing: Sequence[float] = ()) -> Durations:
        """The distribution as of `now`. `ongoing` are the durations so far of what has not
        ended yet: without them the first minutes of a campaign would have seen only its short
        calls end and would forecast far too many slots about to free."""
        stale = now - self._built_at >= self.refresh_s
        grown = len(self._samples) >= 2 * self._built_with + 10
        if self._snapshot is None or stale or grown:
            self._snapshot = self._build(ongoing)
            self._built_at = now
            self._built_with = len(self._samples)
        return self._snapshot

    def _build(self, ongoing: Sequence[float]) -> Durations:
        # Kaplan-Meier over ended (1) and still-running, right-censored (0) durations.
        observations = sorted([(d, 1) for d in self._samples] + [(max(0.0, e), 0) for e in ongoing])
        n = len(observations)
        w_prior = self.prior_strength / (self.prior_strength + n)
        longest = observations[-1][0] if observations else 0.0
        size = min(self.max_grid_s, int(max(longest, 3.0 * self.prior_mean)) + 2)
        survival = []
        at_risk, km, i = n, 1.0, 0
        for second in range(size):
            while i < n and observations[i][0] <= second:
                t, ended, leaving = observations[i][0], 0, 0
                while i < n and observations[i][0] == t:
                    ended += observations[i][1]
                    leaving += 1
                    i += 1
                km *= 1.0 - ended / at_risk
                at_risk -= leaving
            prior = math.exp(-second / self.prior_mean)
            survival.append(w_prior * prior + (1.0 - w_prior) * km)
        # Past the longest observation only the prior's shape is known: continue with it.
        return Durations(survival=tuple(survival), tail_mean=self.prior_mean)


# -- abandon rate --------------------------------------------------------------------------------


def counts_as_live_answer(disposition: Disposition) -> bool:
    """The regulators' denominator: answered by a person, or dropped before anyone could tell
    (an abandoned call is counted as a live answer, as Ofcom counts AMD false positives)."""
    return disposition.answered and disposition is not Disposition.VOICEMAIL


@attrs.frozen
class AbandonRates:
    """Abandoned calls per live answer in the windows the rules use, with their denominators."""

    last_hour: float
    last_hour_answers: int
    today: float
    today_answers: int
    last_30_days: float
    last_30_days_answers: int


def _rate(abandons: int, answers: int) -> float:
    return abandons / answers if answers else 0.0


@attrs.define
class _Window:
    """Counts in time buckets over a sliding window, with running totals."""

    bucket_s: int
    span_s: int
    _buckets: deque[list[int]] = attrs.field(factory=deque)  # [bucket index, answers, abandons]
    answers: int = 0
    abandons: int = 0

    def add(self, now: float, answers: int, abandons: int) -> None:
        index = int(now // self.bucket_s)
        if self._buckets and self._buckets[-1][0] == index:
            self._buckets[-1][1] += answers
            self._buckets[-1][2] += abandons
        else:
            self._buckets.append([index, answers, abandons])
        self.answers += answers
        self.abandons += abandons

    def expire(self, now: float) -> None:
        oldest = int((now - self.span_s) // self.bucket_s)
        while self._buckets and self._buckets[0][0] <= oldest:
            _, answers, abandons = self._buckets.popleft()
            self.answers -= answers
            self.abandons -= abandons


@attrs.define
class AbandonCounter:
    """Abandons and live answers over the last hour, today (in the campaign's time zone) and
    the last 30 days: FCC counts per 30 days, Ofcom per day."""

    timezone: str = "UTC"
    _hour: _Window = attrs.field(factory=lambda: _Window(bucket_s=60, span_s=3600))
    _month: _Window = attrs.field(factory=lambda: _Window(bucket_s=3600, span_s=30 * 86400))
    _day_starts: float = math.inf
    _day_ends: float = -math.inf
    _today_answers: int = 0
    _today_abandons: int = 0

    def record(self, disposition: Disposition, now: float) -> None:
        if not counts_as_live_answer(disposition):
            return
        abandoned = 1 if disposition is Disposition.ABANDONED else 0
        self._roll_day(now)
        self._hour.add(now, 1, abandoned)
        self._month.add(now, 1, abandoned)
        self._today_answers += 1
        self._today_abandons += abandoned

    def rates(self, now: float) -> AbandonRates:
        self._roll_day(now)
        self._hour.expire(now)
        self._month.expire(now)
        return AbandonRates(
            last_hour=_rate(self._hour.abandons, self._hour.answers),
            last_hour_answers=self._hour.answers,
            today=_rate(self._today_abandons, self._today_answers),
            today_answers=self._today_answers,
            last_30_days=_rate(self._month.abandons, self._month.answers),
            last_30_days_answers=self._month.answers,
        )

    def _roll_day(self, now: float) -> None:
        if self._day_starts <= now < self._day_ends:
            return
        zone = ZoneInfo(self.timezone)
        day = datetime.fromtimestamp(now, zone).date()
        self._day_starts = datetime.combine(day, time(0), zone).timestamp()
        self._day_ends = datetime.combine(day + timedelta(days=1), time(0), zone).timestamp()
        self._today_answers = 0
        self._today_abandons = 0


# -- everything pacing needs about one campaign ----------------------------------------------------


@attrs.frozen
class CampaignSnapshot:
    """One campaign's measurements at one instant, as the pacer reads them."""

    answer_rate: AnswerRateView
    handle_time: Durations
    """Slot occupancy per connected call (conversation or voicemail)."""
    answer_delay: Durations
    """Ring time before a connected call was answered."""
    abandon: AbandonRates
    connects_per_hour: float
    """Connected calls per hour lately: sizes the hourly abandon guard."""


@attrs.define
class CampaignStats:
    """The live dialler and the simulator feed these the same events in the same way."""

    timezone: str = "UTC"
    ring_timeout_s: float = 25.0
    prior_talk_s: float = 180.0
    """Cautious prior for handle time: long calls mean few soon-free slots."""
    prior_answer_delay_s: float = 8.0
    answer_rate: AnswerRate = attrs.field(init=False)
    handle_time: DurationEstimator = attrs.field(init=False)
    answer_delay: DurationEstimator = attrs.field(init=False)
    abandon: AbandonCounter = attrs.field(init=False)
    _connects: deque[float] = attrs.field(init=False, factory=deque)
    _first_connect: float | None = attrs.field(init=False, default=None)

    def __attrs_post_init__(self) -> None:
        self.answer_rate = AnswerRate(settle_s=self.ring_timeout_s + 5.0)
        self.handle_time = DurationEstimator(prior_mean=self.prior_talk_s)
        self.answer_delay = DurationEstimator(prior_mean=self.prior_answer_delay_s)
        self.abandon = AbandonCounter(timezone=self.timezone)

    def dial_resolved(self, connected: bool, ring_s: float, now: float) -> None:
        """A dial was answered (by anyone) after `ring_s`, or rang out / failed."""
        self.answer_rate.observe(connected, now - ring_s)
        if connected:
            self.answer_delay.add(ring_s)
            self._connects.append(now)
            if self._first_connect is None:
                self._first_connect = now

    def call_ended(self, disposition: Disposition, slot_s: float | None, now: float) -> None:
        """An answered call is over; `slot_s` is how long it held a slot (None if it got none)."""
        if slot_s is not None:
            self.handle_time.add(slot_s)
        self.abandon.record(disposition, now)

    def _connects_per_hour(self, now: float) -> float:
        if self._first_connect is None:
            return 0.0
        # Within the first hour, extrapolate from what has been seen (at least five minutes'
        # worth, so the first few calls don't suggest a huge rate).
        span = min(3600.0, max(300.0, now - self._first_connect))
        return len(self._connects) * 3600.0 / span

    def snapshot(self, now: float, in_progress: Sequence[float] = ()) -> CampaignSnapshot:
        """`in_progress`: how long each of the campaign's calls holding a slot has lasted."""
        horizon = now - 3600.0
        while self._connects and self._connects[0] < horizon:
            self._connects.popleft()
        return CampaignSnapshot(
            answer_rate=self.answer_rate.view(now),
            handle_time=self.handle_time.snapshot(now, in_progress),
            answer_delay=self.answer_delay.snapshot(now),
            abandon=self.abandon.rates(now),
            connects_per_hour=self._connects_per_hour(now),
        )
