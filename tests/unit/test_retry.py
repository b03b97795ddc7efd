"""What each attempt's ending does to the contact: done, exhausted or rescheduled in its window."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxcore_domain.errors import ValidationError
from voxcore_domain.model import (
    ABANDON_REDIAL_FLOOR,
    CallingWindow,
    Campaign,
    Contact,
    ContactState,
    Disposition,
    RetryPolicy,
    utc,
)
from voxcore_domain.retry import CONVERSATIONS, NextStep, next_step, retry_delay
from voxcore_domain.schedule import contact_timezone, is_open

ALL_DAY = CallingWindow(time(0), time.max)
NOW = utc(2024, 6, 5, 12)  # a Wednesday
RETRIED = {
    Disposition.NO_ANSWER: "no_answer_after",
    Disposition.BUSY: "busy_after",
    Disposition.FAILED: "failed_after",
    Disposition.DECLINED: "declined_after",
    Disposition.VOICEMAIL: "voicemail_after",
    Disposition.ABANDONED: "abandoned_after",
}


def campaign(window: CallingWindow = ALL_DAY, timezone: str = "UTC", **retry: Any) -> Campaign:
    return Campaign(
        "c1",
        "t1",
        "Reminders",
        "a1",
        "trunk",
        "+14155550100",
        window=window,
        timezone=timezone,
        retry=RetryPolicy(**retry),
    )


def contact(attempts: int = 1, timezone: str | None = None) -> Contact:
    return Contact("k1", "c1", "t1", "+14155550123", utc(2024, 6, 1), timezone, attempts=attempts)


@pytest.mark.parametrize("disposition", list(Disposition))
@pytest.mark.parametrize("attempts", [1, 2, 3])
def test_every_disposition_leads_somewhere(disposition: Disposition, attempts: int) -> None:
    step = next_step(contact(attempts), campaign(), disposition, NOW)
    assert step.state.terminal or step.state is ContactState.READY
    assert (step.next_attempt_at is None) == step.state.terminal


def test_every_disposition_is_either_final_or_retried() -> None:
    assert set(Disposition) == CONVERSATIONS | {Disposition.INVALID_NUMBER} | set(RETRIED)


@pytest.mark.parametrize("disposition", sorted(CONVERSATIONS))
def test_a_conversation_finishes_the_contact(disposition: Disposition) -> None:
    assert next_step(contact(1), campaign(), disposition, NOW) == NextStep(ContactState.DONE, None)


def test_an_invalid_number_is_never_tried_again() -> None:
    step = next_step(contact(1), campaign(max_attempts=5), Disposition.INVALID_NUMBER, NOW)
    assert step == NextStep(ContactState.EXHAUSTED, None)


@pytest.mark.parametrize("disposition", sorted(RETRIED))
def test_the_last_attempt_exhausts_the_contact(disposition: Disposition) -> None:
    step = next_step(contact(3), campaign(max_attempts=3), disposition, NOW)
    assert step == NextStep(ContactState.EXHAUSTED, None)


@pytest.mark.parametrize(("disposition", "delay_field"), sorted(RETRIED.items()))
def test_each_disposition_waits_its_own_delay(disposition: Disposition, delay_field: str) -> None:
    policy = campaign().retry
    delay: timedelta = getattr(policy, delay_field)
    assert retry_delay(policy, disposition) == delay
    step = next_step(contact(1), campaign(), disposition, NOW)
    assert step == NextStep(ContactState.READY, NOW + delay)


def test_the_next_attempt_moves_to_the_next_window_opening_in_the_contacts_zone() -> None:
    # 20:00 EDT plus four hours is midnight: wait until 08:00 EDT (12:00Z) the next day.
    evening = utc(2024, 6, 5, 0)
    business_hours = campaign(CallingWindow(time(8), time(21)), timezone="Europe/London")
    step = next_step(contact(1, "America/New_York"), business_hours, Disposition.NO_ANSWER, evening)
    assert step == NextStep(ContactState.READY, utc(2024, 6, 5, 12))


def test_an_abandoned_number_is_not_called_for_72_hours() -> None:
    step = next_step(contact(1), campaign(), Disposition.ABANDONED, NOW)
    assert step.next_attempt_at == NOW + timedelta(hours=72)


def test_now_must_be_aware() -> None:
    with pytest.raises(ValidationError) as raised:
        next_step(contact(1), campaign(), Disposition.BUSY, datetime(2024, 6, 5, 12))
    assert raised.value.field == "now"


@pytest.mark.parametrize(
    ("state", "next_attempt_at", "field"),
    [
        (ContactState.READY, None, "next_attempt_at"),
        (ContactState.READY, datetime(2024, 6, 5, 12), "next_attempt_at"),
        (ContactState.DONE, NOW, "next_attempt_at"),
        (ContactState.DIALING, None, "state"),
    ],
)
def test_a_next_step_is_ready_and_scheduled_or_terminal_and_not(
    state: ContactState, next_attempt_at: datetime | None, field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        NextStep(state, next_attempt_at)
    assert raised.value.field == field


# -- properties ----------------------------------------------------------------------------------

ZONES = ["UTC", "America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe"]
delays = st.timedeltas(timedelta(0), timedelta(days=3))


@st.composite
def campaigns(draw: st.DrawFn) -> Campaign:
    start = draw(st.times())
    end = draw(st.times().filter(lambda t: t > start))
    window = CallingWindow(start, end, draw(st.frozensets(st.integers(1, 7), min_size=1)))
    policy = RetryPolicy(
        max_attempts=draw(st.integers(1, 5)),
        no_answer_after=draw(delays),
        busy_after=draw(delays),
        failed_after=draw(delays),
        declined_after=draw(delays),
        voicemail_after=draw(delays),
        abandoned_after=draw(st.timedeltas(ABANDON_REDIAL_FLOOR, timedelta(days=7))),
    )
    return attrs.evolve(
        campaign(), window=window, timezone=draw(st.sampled_from(ZONES)), retry=policy
    )


contacts = st.builds(
    contact, attempts=st.integers(1, 6), timezone=st.none() | st.sampled_from(ZONES)
)
instants = st.datetimes(datetime(2000, 1, 1), datetime(2040, 1, 1), timezones=st.just(UTC))


@settings(max_examples=200, deadline=None)
@given(contacts, campaigns(), st.sampled_from(Disposition), instants)
def test_a_contact_ends_terminal_or_scheduled_inside_its_window(
    contact: Contact, campaign: Campaign, disposition: Disposition, now: datetime
) -> None:
    step = next_step(contact, campaign, disposition, now)
    if disposition in CONVERSATIONS:
        assert step.state is ContactState.DONE
    if step.state.terminal:
        assert step.next_attempt_at is None
        return
    assert step.state is ContactState.READY
    assert contact.attempts < campaign.retry.max_attempts
    delay = retry_delay(campaign.retry, disposition)
    assert delay is not None
    assert step.next_attempt_at is not None
    assert step.next_attempt_at >= now + delay
    assert is_open(campaign.window, contact_timezone(contact, campaign), step.next_attempt_at)
    if disposition is Disposition.ABANDONED:
        assert step.next_attempt_at >= now + ABANDON_REDIAL_FLOOR
