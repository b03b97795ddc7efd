"""A campaign's call statistics as an operator reads them: dials, answers and abandons over the
last hour, today in the campaign's time zone and the last 30 days, against its abandon target.

The rules are the regulators' (as `estimators.AbandonCounter` counts them for pacing): the
abandon rate is abandoned calls per live answer; an answering machine is not a live answer; an
abandoned call is one. An attempt belongs to the window its dial falls in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import attrs

from voxcore_domain import validators as v
from voxcore_domain.errors import ValidationError
from voxcore_domain.estimators import counts_as_live_answer
from voxcore_domain.model import CallAttempt, Disposition

BUSY_LOOKBACK = timedelta(hours=4)
"""How far back a call still counts as busy while its end has not been reported: a call whose
worker died without reporting stops counting after this long."""


CLOCK_SKEW = timedelta(minutes=1)
"""How far ahead of the API's clock a dialler's may run."""


def _outcomes(value: Mapping[Disposition, int]) -> dict[Disposition, int]:
    counts = {Disposition(key): count for key, count in value.items() if count}
    if any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in counts.values()):
        raise ValidationError("outcomes", "counts must be whole numbers from 0")
    return counts


@attrs.frozen
class CallTally:
    """What became of the dials of one campaign placed in one span of time."""

    dials: int = attrs.field(default=0, validator=v.count)
    in_call: int = attrs.field(default=0, validator=v.count)
    """Dials a fleet worker took (attached) whose end is not reported yet."""
    outcomes: Mapping[Disposition, int] = attrs.field(factory=dict, converter=_outcomes)
    """Ended dials by disposition; a disposition with none is left out."""

    @property
    def ended(self) -> int:
        return sum(self.outcomes.values())


def in_span(attempt: CallAttempt, since: datetime, until: datetime) -> bool:
    """Whether the attempt was dialled in [since, until)."""
    return since <= attempt.dialed_at < until


def tally(attempts: Iterable[CallAttempt]) -> CallTally:
    """The tally of `attempts` (already chosen by campaign and span). A dial the provider
    turned down before it reached anyone (`not_placed`) is no dial: it is not counted."""
    dials = in_call = 0
    outcomes: Counter[Disposition] = Counter()
    for attempt in attempts:
        if attempt.not_placed is not None:
            continue
        dials += 1
        if attempt.disposition is not None:
            outcomes[attempt.disposition] += 1
        elif attempt.attached_at is not None and attempt.ended_at is None:
            in_call += 1
    return CallTally(dials, in_call, outcomes)


@attrs.frozen
class Windows:
    """Where each window of the statistics starts, for one instant and time zone."""

    now: datetime
    last_hour: datetime
    today: datetime
    """Midnight in the campaign's time zone."""
    last_30_days: datetime
    busy: datetime
    """Since when an attached call without an end still counts as busy."""
    until: datetime
    """Where every window ends: a little after `now`, so a dial stamped by a dialler whose clock
    runs slightly ahead still counts."""


def windows(now: datetime, timezone: str) -> Windows:
    """The windows' starts at `now` (timezone-aware) in `timezone`."""
    if now.utcoffset() is None:
        raise ValidationError("now", "must be a timezone-aware datetime")
    zone = ZoneInfo(timezone)
    local_day = now.astimezone(zone).date()
    midnight = datetime.combine(local_day, time(0), zone)
    return Windows(
        now=now,
        last_hour=now - timedelta(hours=1),
        today=midnight.astimezone(now.tzinfo),
        last_30_days=now - timedelta(days=30),
        busy=now - BUSY_LOOKBACK,
        until=now + CLOCK_SKEW,
    )


@attrs.frozen
class WindowStats:
    """One window's counts and rates."""

    since: datetime
    dials: int
    ended: int
    """Dials whose outcome is known."""
    live_answers: int
    """Answered by a person, or abandoned (the regulators count those as live answers)."""
    machine_answers: int
    """Answered by a voicemail or answering machine: not live answers."""
    abandoned: int
    answer_rate: float | None
    """Live answers per ended dial; None before any dial ended."""
    abandon_rate: float | None
    """Abandoned calls per live answer; None before any live answer."""
    over_target: bool
    """Whether the abandon rate is above the campaign's target."""


def window_stats(counts: CallTally, since: datetime, abandon_target: float) -> WindowStats:
    live = sum(n for d, n in counts.outcomes.items() if counts_as_live_answer(d))
    abandoned = counts.outcomes.get(Disposition.ABANDONED, 0)
    abandon_rate = abandoned / live if live else None
    return WindowStats(
        since=since,
        dials=counts.dials,
        ended=counts.ended,
        live_answers=live,
        machine_answers=counts.outcomes.get(Disposition.VOICEMAIL, 0),
        abandoned=abandoned,
        answer_rate=live / counts.ended if counts.ended else None,
        abandon_rate=abandon_rate,
        over_target=abandon_rate is not None and abandon_rate > abandon_target,
    )


@attrs.frozen
class CampaignCallStats:
    """A campaign's statistics at one instant."""

    at: datetime
    abandon_target: float
    last_hour: WindowStats
    today: WindowStats
    last_30_days: WindowStats
    busy_slots: int
    """The campaign's calls a fleet worker holds now: attached, no end reported, dialled within
    `BUSY_LOOKBACK`."""
    fleet_slots: int
    """Slots in the fleet's registry now that are not draining."""
    occupancy: float | None
    """`busy_slots / fleet_slots`: the share of the fleet's live slots this campaign's calls
    hold now; None when the registry has no slot."""


def campaign_stats(
    at: Windows,
    abandon_target: float,
    last_hour: CallTally,
    today: CallTally,
    last_30_days: CallTally,
    busy: CallTally,
    fleet_slots: int,
) -> CampaignCallStats:
    """The statistics from each window's tally (`busy` over `at.busy` … now)."""
    return CampaignCallStats(
        at=at.now,
        abandon_target=abandon_target,
        last_hour=window_stats(last_hour, at.last_hour, abandon_target),
        today=window_stats(today, at.today, abandon_target),
        last_30_days=window_stats(last_30_days, at.last_30_days, abandon_target),
        busy_slots=busy.in_call,
        fleet_slots=fleet_slots,
        occupancy=busy.in_call / fleet_slots if fleet_slots else None,
    )
