"""Energy-based turn detection."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxcore_domain.errors import ValidationError
from voxcore_domain.voice.turns import Turn, TurnChange, TurnSettings, spoken_frames, step

LOUD = -20.0
QUIET = -70.0
SETTINGS = TurnSettings(threshold_dbfs=-40.0, start_ms=60, end_ms=200)


def run(levels: list[float], settings: TurnSettings = SETTINGS) -> list[tuple[int, TurnChange]]:
    turn = Turn()
    changes = []
    for index, level in enumerate(levels):
        turn, change = step(settings, turn, level)
        if change is not None:
            changes.append((index, change))
    return changes


def test_speech_starts_after_the_start_run_and_ends_after_the_end_run() -> None:
    levels = [QUIET] * 5 + [LOUD] * 10 + [QUIET] * 12
    assert run(levels) == [(7, TurnChange.SPEECH_STARTED), (24, TurnChange.SPEECH_ENDED)]


def test_clicks_shorter_than_the_start_run_are_not_speech() -> None:
    assert run([LOUD, LOUD, QUIET] * 10) == []


def test_a_pause_shorter_than_the_end_run_does_not_end_speech() -> None:
    levels = [LOUD] * 5 + [QUIET] * 9 + [LOUD] * 5 + [QUIET] * 10
    assert [change for _, change in run(levels)] == [
        TurnChange.SPEECH_STARTED,
        TurnChange.SPEECH_ENDED,
    ]


def test_the_utterance_counts_from_its_first_voiced_frame() -> None:
    turn = Turn()
    for _ in range(25):
        turn, _ = step(SETTINGS, turn, LOUD)
    assert turn.speech_frames == 25
    for _ in range(4):
        turn, _ = step(SETTINGS, turn, QUIET)
    assert spoken_frames(turn) == 25


@given(st.lists(st.sampled_from([LOUD, QUIET, -40.0, -39.9]), max_size=300))
def test_starts_and_ends_alternate_and_speech_needs_a_voiced_run(levels: list[float]) -> None:
    changes = run(levels)
    kinds = [change for _, change in changes]
    assert kinds == [
        TurnChange.SPEECH_STARTED if i % 2 == 0 else TurnChange.SPEECH_ENDED
        for i in range(len(kinds))
    ]
    for index, change in changes:
        window = levels[index - SETTINGS.start_frames + 1 : index + 1]
        if change is TurnChange.SPEECH_STARTED:
            assert all(level > SETTINGS.threshold_dbfs for level in window)
        else:
            tail = levels[index - SETTINGS.end_frames + 1 : index + 1]
            assert all(level <= SETTINGS.threshold_dbfs for level in tail)


@pytest.mark.parametrize(
    ("field", "value"),
    [("threshold_dbfs", 3.0), ("threshold_dbfs", -120.0), ("start_ms", 5), ("end_ms", 60_000)],
)
def test_settings_refuse_values_no_line_has(field: str, value: float) -> None:
    wrong: dict[str, Any] = {field: value}
    with pytest.raises(ValidationError) as error:
        TurnSettings(**wrong)
    assert error.value.field == field
