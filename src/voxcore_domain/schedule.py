"""Calling windows in the callee's local time, exact across daylight-saving changes.

A window is a range of local wall-clock times, so the instants it covers shift whenever the zone's
UTC offset changes: a start inside a spring-forward gap opens at the transition itself, a start
inside a fall-back fold opens at its first occurrence, and a fold can open the window a second time.
`next_open` walks the zone in stretches of constant offset, where wall time is plain arithmetic.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from voxcore_domain.errors import ValidationError
from voxcore_domain.model import CallingWindow, Campaign, Contact

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
# tzdata never changes a zone's offset and changes it back within an hour, so probing the offset
# hourly finds every transition; bisection then pins it to the second it happens at.
_PROBE = timedelta(hours=1)


def contact_timezone(contact: Contact, campaign: Campaign) -> str:
    """The zone whose wall clock the calling window is read in for this contact."""
    return contact.timezone or campaign.timezone


def is_open(window: CallingWindow, timezone: str, at: datetime) -> bool:
    """Whether the window is open at instant `at` on the wall clock of `timezone`."""
    local = _aware("at", at).astimezone(ZoneInfo(timezone))
    return local.isoweekday() in window.weekdays and window.start <= local.time() < window.end


def next_open(window: CallingWindow, timezone: str, after: datetime) -> datetime:
    """The earliest instant at or after `after` at which the window is open, in UTC."""
    zone = ZoneInfo(timezone)
    at = _aware("after", after).astimezone(UTC)
    while True:
        offset = _offset(zone, at)
        local = (at + offset).replace(tzinfo=None)
        candidate = (_first_open_wall_time(window, local) - offset).replace(tzinfo=UTC)
        transition = _offset_change(zone, at, candidate, offset)
        if transition is None:
            return candidate
        # The wall clock jumped before the candidate: read the window again from the jump.
        at = transition


def _aware(name: str, value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(name, "must be a timezone-aware datetime")
    return value


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    """The zone's UTC offset at `instant`."""
    wall = instant.astimezone(zone).replace(tzinfo=None)
    return wall - instant.astimezone(UTC).replace(tzinfo=None)


def _first_open_wall_time(window: CallingWindow, local: datetime) -> datetime:
    """The earliest naive wall time at or after `local` inside the window, as if the clock never
    jumped."""
    if local.isoweekday() in window.weekdays and local.time() < window.end:
        return max(local, datetime.combine(local.date(), window.start))
    day = next(
        day
        for days in range(1, 8)
        if (day := local.date() + timedelta(days=days)).isoweekday() in window.weekdays
    )
    return datetime.combine(day, window.start)


def _offset_change(
    zone: ZoneInfo, start: datetime, end: datetime, offset: timedelta
) -> datetime | None:
    """The first instant in (start, end] at which the zone's offset is no longer `offset`."""
    probe = start
    while probe < end:
        later = min(probe + _PROBE, end)
        if _offset(zone, later) != offset:
            return _bisect_transition(zone, probe, later, offset)
        probe = later
    return None


def _bisect_transition(
    zone: ZoneInfo, before: datetime, after: datetime, offset: timedelta
) -> datetime:
    """The transition between `before` (still at `offset`) and `after` (past it).

    Transitions happen on whole seconds, so the search runs over whole seconds since the epoch.
    """
    low = (before - _EPOCH) // _SECOND
    high = (after - _EPOCH) // _SECOND
    while high - low > 1:
        middle = (low + high) // 2
        if _offset(zone, _EPOCH + middle * _SECOND) == offset:
            low = middle
        else:
            high = middle
    return _EPOCH + high * _SECOND
