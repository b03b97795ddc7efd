"""A campaign's call statistics: the regulators' abandon rate over three windows."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from voxcore_domain.callstats import CallTally, campaign_stats, tally, window_stats, windows
from voxcore_domain.model import CallAttempt, Disposition, utc

NOW = utc(2024, 6, 5, 23, 30)


def attempt(disposition: Disposition | None, attached: bool = False) -> CallAttempt:
    return CallAttempt(
        "x",
        "k",
        "c1",
        "t1",
        1,
        "tok",
        NOW,
        attached_at=NOW if attached else None,
        ended_at=NOW if disposition else None,
        disposition=disposition,
    )


def test_machines_are_not_live_answers_and_abandons_are() -> None:
    counts = tally(
        [attempt(Disposition.COMPLETED)] * 6
        + [attempt(Disposition.VOICEMAIL)] * 3
        + [attempt(Disposition.ABANDONED)] * 2
        + [attempt(Disposition.NO_ANSWER)] * 9
        + [attempt(None, attached=True), attempt(None)]
    )
    assert (counts.dials, counts.ended, counts.in_call) == (22, 20, 1)
    stats = window_stats(counts, NOW, abandon_target=0.03)
    assert (stats.live_answers, stats.machine_answers, stats.abandoned) == (8, 3, 2)
    assert stats.answer_rate == 8 / 20
    assert stats.abandon_rate == 2 / 8
    assert stats.over_target


def test_rates_are_none_before_there_is_anything_to_divide_by() -> None:
    stats = window_stats(CallTally(dials=3), NOW, 0.03)
    assert (stats.answer_rate, stats.abandon_rate, stats.over_target) == (None, None, False)


def test_today_starts_at_midnight_in_the_campaigns_zone() -> None:
    # 23:30 UTC on 5 June is 01:30 on 6 June in Berlin (summer time, UTC+2).
    at = windows(NOW, "Europe/Berlin")
    assert at.today == utc(2024, 6, 5, 22)
    assert at.last_hour == NOW - timedelta(hours=1)
    assert at.last_30_days == NOW - timedelta(days=30)
    assert windows(NOW, "America/New_York").today == utc(2024, 6, 5, 4)


@given(st.integers(0, 50), st.integers(0, 50), st.integers(0, 20))
def test_occupancy_is_the_campaigns_share_of_the_fleets_live_slots(
    busy: int, other: int, fleet: int
) -> None:
    stats = campaign_stats(
        windows(NOW, "UTC"),
        0.03,
        CallTally(),
        CallTally(),
        CallTally(),
        CallTally(busy + other, busy),
        fleet,
    )
    assert stats.busy_slots == busy
    assert stats.occupancy == (busy / fleet if fleet else None)


@given(st.dictionaries(st.sampled_from(list(Disposition)), st.integers(0, 100)))
def test_the_abandon_rate_never_counts_machines(outcomes: dict[Disposition, int]) -> None:
    stats = window_stats(CallTally(sum(outcomes.values()), 0, outcomes), NOW, 0.03)
    live = sum(n for d, n in outcomes.items() if d.answered and d is not Disposition.VOICEMAIL)
    assert stats.live_answers == live
    if live:
        assert stats.abandon_rate == outcomes.get(Disposition.ABANDONED, 0) / live
        assert 0.0 <= stats.abandon_rate <= 1.0
