from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxcore_domain.errors import InvalidTransition, ValidationError
from voxcore_domain.model import (
    CallingWindow,
    Campaign,
    CampaignState,
    Contact,
    PacingKind,
    PacingMode,
    PacingSettings,
    RetryPolicy,
    Slot,
    Tenant,
    utc,
)

NOW = utc(2026, 3, 2, 12)


def campaign(**changes: Any) -> Campaign:
    fields: dict[str, Any] = {
        "id": "c1",
        "tenant_id": "t1",
        "name": "Reminders",
        "agent_id": "a1",
        "trunk_id": "k1",
        "caller_id": "+14155550100",
    }
    return Campaign(**(fields | changes))


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: campaign(caller_id="4155550100"), "caller_id"),
        (lambda: campaign(weight=0), "weight"),
        (lambda: campaign(max_concurrency=0), "max_concurrency"),
        (lambda: campaign(timezone="Mars/Olympus"), "timezone"),
        (lambda: campaign(name=" "), "name"),
        (lambda: CallingWindow(start=time(21), end=time(8)), "end"),
        (lambda: CallingWindow(weekdays={0, 8}), "weekdays"),
        (lambda: PacingSettings(abandon_target=0), "abandon_target"),
        (lambda: PacingSettings(ring_timeout_s=10), "ring_timeout_s"),
        (lambda: RetryPolicy(max_attempts=0), "max_attempts"),
        (lambda: RetryPolicy(busy_after=timedelta(minutes=-1)), "busy_after"),
        (lambda: RetryPolicy(abandoned_after=timedelta(hours=24)), "abandoned_after"),
        (lambda: Tenant(id="t", name="T", weight=-1), "weight"),
        (
            lambda: Contact("k", "c", "t", "+4420794600", next_attempt_at=datetime(2026, 1, 1)),
            "next_attempt_at",
        ),
        (
            lambda: Slot("h", "w", "busy", heartbeat_at=NOW, busy_since=datetime(2026, 1, 1)),
            "busy_since",
        ),
        (lambda: PacingMode.parse("turbo"), "pacing_mode"),
        (lambda: campaign(state="sleeping"), "state"),
        (lambda: Slot("h", "w", "resting", heartbeat_at=NOW), "state"),
        (lambda: PacingMode.parse("ratio:fast"), "pacing_mode"),
        (lambda: PacingMode.parse("ratio:0"), "pacing_mode"),
        (lambda: PacingMode.parse("predictive:2"), "pacing_mode"),
    ],
)
def test_bad_values_are_refused_naming_the_field(build: Any, field: str) -> None:
    with pytest.raises(ValidationError) as error:
        build()
    assert error.value.field == field
    assert str(error.value).startswith(f"{field}: ")


@given(digits=st.text("0123456789", min_size=7, max_size=15).filter(lambda d: d[0] != "0"))
def test_every_e164_number_is_accepted(digits: str) -> None:
    assert Contact("k", "c", "t", f"+{digits}", next_attempt_at=NOW).phone == f"+{digits}"


@given(text=st.text(max_size=20))
def test_anything_but_e164_is_refused(text: str) -> None:
    if text.startswith("+") and text[1:].isascii() and text[1:].isdigit():
        return  # a well-formed candidate: the property above covers it
    with pytest.raises(ValidationError, match="phone"):
        Contact("k", "c", "t", text, next_attempt_at=NOW)


@pytest.mark.parametrize(
    "text", ["preview", "progressive", "ratio:2.5", "vicidial", "predictive", " ratio:3 "]
)
def test_pacing_modes_round_trip(text: str) -> None:
    mode = PacingMode.parse(text)
    assert PacingMode.parse(str(mode)) == mode


def test_a_campaign_defaults_to_predictive_at_three_percent() -> None:
    settings = campaign().pacing
    assert settings.mode.kind is PacingKind.PREDICTIVE
    assert settings.abandon_target == 0.03


def test_campaign_lifecycle() -> None:
    draft = campaign()
    running = draft.transition(CampaignState.RUNNING)
    paused = running.transition(CampaignState.PAUSED)
    assert paused.transition(CampaignState.RUNNING).state is CampaignState.RUNNING
    done = paused.transition(CampaignState.COMPLETED)
    with pytest.raises(InvalidTransition, match="'completed' to 'running'"):
        done.transition(CampaignState.RUNNING)
    with pytest.raises(InvalidTransition):
        draft.transition(CampaignState.PAUSED)
