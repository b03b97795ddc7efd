"""Calling windows read on the callee's wall clock, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxcore_domain.errors import ValidationError
from voxcore_domain.model import CallingWindow, Campaign, Contact, utc
from voxcore_domain.schedule import contact_timezone, is_open, next_open

DAYTIME = CallingWindow(time(8), time(21))
WEEKDAYS = CallingWindow(time(8), time(21), frozenset(range(1, 6)))
SECOND = timedelta(seconds=1)


def at(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def opens_exactly_at(window: CallingWindow, timezone: str, instant: datetime) -> bool:
    return is_open(window, timezone, instant) and not is_open(window, timezone, instant - SECOND)


# -- is_open -------------------------------------------------------------------------------------


def test_the_window_is_half_open_on_the_local_wall_clock() -> None:
    # New York in January is UTC-5: 08:00 local is 13:00Z, 21:00 local is 02:00Z the next day.
    assert not is_open(DAYTIME, "America/New_York", at(2024, 1, 15, 12, 59, 59))
    assert is_open(DAYTIME, "America/New_York", at(2024, 1, 15, 13))
    assert is_open(DAYTIME, "America/New_York", at(2024, 1, 16, 1, 59, 59))
    assert not is_open(DAYTIME, "America/New_York", at(2024, 1, 16, 2))


def test_the_weekday_is_the_local_one() -> None:
    friday_evening_in_new_york = at(2024, 1, 20, 0, 30)  # a Saturday in UTC
    assert is_open(WEEKDAYS, "America/New_York", friday_evening_in_new_york)
    assert not is_open(WEEKDAYS, "UTC", friday_evening_in_new_york)


def test_half_hour_zones() -> None:
    # Kolkata is UTC+5:30 all year.
    assert not is_open(DAYTIME, "Asia/Kolkata", at(2024, 6, 1, 2, 29, 59))
    assert is_open(DAYTIME, "Asia/Kolkata", at(2024, 6, 1, 2, 30))


def test_any_aware_datetime_is_accepted() -> None:
    in_kolkata = datetime(2024, 6, 1, 8, tzinfo=ZoneInfo("Asia/Kolkata"))
    assert is_open(DAYTIME, "Asia/Kolkata", in_kolkata)
    assert next_open(DAYTIME, "Asia/Kolkata", in_kolkata) == in_kolkata
    assert next_open(DAYTIME, "Asia/Kolkata", in_kolkata).tzinfo is UTC


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValidationError) as raised:
        is_open(DAYTIME, "UTC", datetime(2024, 6, 1, 12))
    assert raised.value.field == "at"
    with pytest.raises(ValidationError) as raised:
        next_open(DAYTIME, "UTC", datetime(2024, 6, 1, 12))
    assert raised.value.field == "after"


# -- next_open -----------------------------------------------------------------------------------


def test_an_open_instant_is_its_own_next_opening() -> None:
    now = at(2024, 6, 3, 14, 7, 3) + timedelta(microseconds=5)
    assert next_open(DAYTIME, "Europe/London", now) == now


def test_before_the_window_opens_today() -> None:
    assert next_open(DAYTIME, "Asia/Kolkata", at(2024, 6, 1, 0)) == at(2024, 6, 1, 2, 30)


def test_after_the_window_closes_it_opens_tomorrow() -> None:
    # 21:30 in London in summer (UTC+1) → 08:00 BST the next day.
    assert next_open(DAYTIME, "Europe/London", at(2024, 6, 1, 20, 30)) == at(2024, 6, 2, 7)


def test_excluded_weekdays_are_skipped() -> None:
    saturday = at(2024, 1, 20, 15)
    assert next_open(WEEKDAYS, "America/New_York", saturday) == at(2024, 1, 22, 13)


@pytest.mark.parametrize(
    ("timezone", "window", "after", "expected"),
    [
        pytest.param(
            # New York springs forward from 02:00 EST to 03:00 EDT at 07:00Z on 10 March 2024.
            "America/New_York",
            CallingWindow(time(2, 30), time(21)),
            at(2024, 3, 10, 5),
            at(2024, 3, 10, 7),
            id="new-york-start-in-gap-opens-at-the-transition",
        ),
        pytest.param(
            "America/New_York",
            CallingWindow(time(2), time(2, 45)),
            at(2024, 3, 10, 5),
            at(2024, 3, 11, 6),
            id="new-york-window-wholly-in-gap-opens-the-next-day",
        ),
        pytest.param(
            # London springs forward from 01:00 GMT to 02:00 BST at 01:00Z on 31 March 2024.
            "Europe/London",
            CallingWindow(time(1, 15), time(21)),
            at(2024, 3, 31, 0),
            at(2024, 3, 31, 1),
            id="london-start-in-gap",
        ),
        pytest.param(
            # Lord Howe springs forward only 30 minutes: 02:00 (+10:30) → 02:30 (+11) at 15:30Z.
            "Australia/Lord_Howe",
            CallingWindow(time(2, 10), time(21)),
            at(2024, 10, 5, 12),
            at(2024, 10, 5, 15, 30),
            id="lord-howe-half-hour-gap",
        ),
        pytest.param(
            # Sao Paulo sprang forward at midnight: 4 November 2018 started at 01:00.
            "America/Sao_Paulo",
            CallingWindow(time(0), time(12)),
            at(2018, 11, 3, 20),
            at(2018, 11, 4, 3),
            id="sao-paulo-midnight-gap",
        ),
        pytest.param(
            # Samoa skipped Friday 30 December 2011 altogether.
            "Pacific/Apia",
            CallingWindow(time(8), time(21), frozenset({5})),
            at(2011, 12, 29, 10),
            at(2012, 1, 5, 18),
            id="apia-skipped-friday",
        ),
    ],
)
def test_spring_forward(
    timezone: str, window: CallingWindow, after: datetime, expected: datetime
) -> None:
    assert next_open(window, timezone, after) == expected
    assert opens_exactly_at(window, timezone, expected)


@pytest.mark.parametrize(
    ("timezone", "window", "after", "expected"),
    [
        pytest.param(
            # New York falls back from 02:00 EDT to 01:00 EST at 06:00Z on 3 November 2024;
            # 01:30 happens at 05:30Z and again at 06:30Z.
            "America/New_York",
            CallingWindow(time(1, 30), time(21)),
            at(2024, 11, 3, 4),
            at(2024, 11, 3, 5, 30),
            id="new-york-start-in-fold-opens-at-its-first-occurrence",
        ),
        pytest.param(
            # At 01:45 EDT the window [00:30, 01:30) has closed, but the clock goes back to 01:00.
            "America/New_York",
            CallingWindow(time(0, 30), time(1, 30)),
            at(2024, 11, 3, 5, 45),
            at(2024, 11, 3, 6),
            id="new-york-fold-reopens-the-window",
        ),
        pytest.param(
            # London falls back from 02:00 BST to 01:00 GMT at 01:00Z on 27 October 2024.
            "Europe/London",
            CallingWindow(time(1, 30), time(21)),
            at(2024, 10, 26, 23),
            at(2024, 10, 27, 0, 30),
            id="london-start-in-fold",
        ),
        pytest.param(
            # Lord Howe falls back 30 minutes: 02:00 (+11) → 01:30 (+10:30) at 15:00Z.
            "Australia/Lord_Howe",
            CallingWindow(time(1, 45), time(21)),
            at(2024, 4, 6, 12),
            at(2024, 4, 6, 14, 45),
            id="lord-howe-start-in-half-hour-fold",
        ),
        pytest.param(
            "Australia/Lord_Howe",
            CallingWindow(time(1), time(1, 45)),
            at(2024, 4, 6, 14, 50),
            at(2024, 4, 6, 15),
            id="lord-howe-fold-reopens-the-window",
        ),
        pytest.param(
            # Sao Paulo fell back at midnight into the previous day: 17 February 2019 00:00 -02
            # became 16 February 23:00 -03, a Saturday again.
            "America/Sao_Paulo",
            CallingWindow(time(23), time(23, 30), frozenset({6})),
            at(2019, 2, 17, 1, 45),
            at(2019, 2, 17, 2),
            id="sao-paulo-fold-back-into-yesterday",
        ),
    ],
)
def test_fall_back(
    timezone: str, window: CallingWindow, after: datetime, expected: datetime
) -> None:
    assert next_open(window, timezone, after) == expected
    assert opens_exactly_at(window, timezone, expected)


def test_the_window_is_closed_between_the_two_passes_of_a_fold() -> None:
    window = CallingWindow(time(0), time(1, 30))
    open_minutes = [
        minute
        for minute in range(4 * 60, 7 * 60)
        if is_open(window, "America/New_York", at(2024, 11, 3, 0) + timedelta(minutes=minute))
    ]
    # 00:00–01:30 EDT is 04:00Z–05:30Z, then 01:00–01:30 EST is 06:00Z–06:30Z.
    assert open_minutes == [*range(4 * 60, 5 * 60 + 30), *range(6 * 60, 6 * 60 + 30)]


def test_contact_timezone_defaults_to_the_campaign() -> None:
    campaign = Campaign(
        "c1", "t1", "Reminders", "a1", "trunk", "+14155550100", timezone="Europe/London"
    )
    contact = Contact("k1", "c1", "t1", "+14155550123", utc(2024, 1, 1))
    assert contact_timezone(contact, campaign) == "Europe/London"
    in_kolkata = Contact("k2", "c1", "t1", "+14155550124", utc(2024, 1, 1), "Asia/Kolkata")
    assert contact_timezone(in_kolkata, campaign) == "Asia/Kolkata"


# -- properties ----------------------------------------------------------------------------------

ZONES = [
    "UTC",
    "America/New_York",
    "America/St_Johns",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Dublin",
    "Africa/Casablanca",
    "Asia/Kolkata",
    "Asia/Tehran",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Pacific/Apia",
]

# Instants at which these zones change their offset: the interesting places to start from.
TRANSITIONS = [
    ("America/New_York", at(2024, 3, 10, 7)),
    ("America/New_York", at(2024, 11, 3, 6)),
    ("Europe/London", at(2024, 3, 31, 1)),
    ("Europe/London", at(2024, 10, 27, 1)),
    ("Europe/Dublin", at(2024, 10, 27, 1)),
    ("Africa/Casablanca", at(2024, 3, 10, 2)),
    ("Africa/Casablanca", at(2024, 4, 14, 2)),
    ("Australia/Lord_Howe", at(2024, 4, 6, 15)),
    ("Australia/Lord_Howe", at(2024, 10, 5, 15, 30)),
    ("Pacific/Chatham", at(2024, 4, 6, 14)),
    ("Pacific/Chatham", at(2024, 9, 28, 14)),
    ("America/Sao_Paulo", at(2018, 11, 4, 3)),
    ("America/Sao_Paulo", at(2019, 2, 17, 2)),
    ("Pacific/Apia", at(2011, 12, 30, 10)),
]


@pytest.mark.parametrize(("timezone", "instant"), TRANSITIONS)
def test_the_listed_transitions_are_real(timezone: str, instant: datetime) -> None:
    zone = ZoneInfo(timezone)
    assert (instant - SECOND).astimezone(zone).utcoffset() != instant.astimezone(zone).utcoffset()


# Wall times near where clocks jump (around midnight and 01:00–03:00) as well as anywhere.
wall_times = st.one_of(
    st.times(),
    st.builds(time, st.sampled_from([0, 1, 2, 3, 23]), st.sampled_from([0, 10, 15, 30, 45, 59])),
)


@st.composite
def windows(draw: st.DrawFn) -> CallingWindow:
    first = draw(wall_times)
    second = draw(wall_times.filter(lambda t: t != first))
    weekdays = draw(st.frozensets(st.integers(1, 7), min_size=1))
    return CallingWindow(min(first, second), max(first, second), weekdays)


@st.composite
def zones_and_instants(draw: st.DrawFn) -> tuple[str, datetime]:
    if draw(st.booleans()):
        timezone, transition = draw(st.sampled_from(TRANSITIONS))
        seconds = draw(st.integers(-3 * 86_400, 3 * 86_400))
        return timezone, transition + timedelta(seconds=seconds)
    instant = draw(st.datetimes(datetime(2000, 1, 1), datetime(2040, 1, 1), timezones=st.just(UTC)))
    return draw(st.sampled_from(ZONES)), instant


@settings(max_examples=200, deadline=None)
@given(window=windows(), where=zones_and_instants())
def test_next_open_is_the_first_open_instant(
    window: CallingWindow, where: tuple[str, datetime]
) -> None:
    timezone, after = where
    opening = next_open(window, timezone, after)
    assert opening.tzinfo is UTC
    assert opening >= after
    assert is_open(window, timezone, opening)
    if is_open(window, timezone, after):
        assert opening == after
    else:
        assert not is_open(window, timezone, opening - timedelta(microseconds=1))
        # Nothing open in between: every minute when the wait is short, 1,000 samples otherwise.
        step = max(timedelta(minutes=1), (opening - after) / 1000)
        probe = after
        while probe < opening:
            assert not is_open(window, timezone, probe), probe
            probe += step
