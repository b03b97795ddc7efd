"""Energy-based turn detection: when the caller starts and stops talking.

A frame louder than the threshold is voiced. Speech starts after a run of voiced frames long
enough not to be a click or a line pop, and ends after a run of quiet frames long enough not to
be the pause between two words. The thresholds are settings, not constants: lines and carriers
differ in noise floor.
"""

from __future__ import annotations

from enum import StrEnum

import attrs

from voxcore_domain.errors import ValidationError
from voxcore_domain.voice.audio import FRAME_MS, frames_for_ms


def _level(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not isinstance(value, int | float) or not -90.0 <= value <= 0.0:
        raise ValidationError(attribute.name, f"must be a level from -90 to 0 dBFS, got {value!r}")


def _ms(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not FRAME_MS <= value <= 10_000:
        raise ValidationError(
            attribute.name, f"must be {FRAME_MS} to 10000 milliseconds, got {value!r}"
        )


@attrs.frozen
class TurnSettings:
    """How loud and how long sound must be to count as the caller talking."""

    threshold_dbfs: float = attrs.field(default=-40.0, validator=_level)
    """Frames louder than this are voiced. Speech on a phone line sits around -20 to -30 dBFS,
    line noise below -50."""
    start_ms: int = attrs.field(default=60, validator=_ms)
    """Voiced this long before speech counts as started: shorter bursts are clicks."""
    end_ms: int = attrs.field(default=600, validator=_ms)
    """Quiet this long before speech counts as ended: shorter gaps are pauses between words."""

    @property
    def start_frames(self) -> int:
        return frames_for_ms(self.start_ms)

    @property
    def end_frames(self) -> int:
        return frames_for_ms(self.end_ms)


class TurnChange(StrEnum):
    SPEECH_STARTED = "speech_started"
    SPEECH_ENDED = "speech_ended"


@attrs.frozen
class Turn:
    """Where the detector is: talking or not, and the runs of frames that may change that."""

    speaking: bool = False
    voiced_run: int = 0
    """Consecutive voiced frames up to now."""
    quiet_run: int = 0
    """Consecutive quiet frames up to now."""
    speech_frames: int = 0
    """Frames since the current speech started (its pauses included); 0 when not speaking."""


def step(settings: TurnSettings, turn: Turn, level_dbfs: float) -> tuple[Turn, TurnChange | None]:
    """The detector after one more frame at `level_dbfs`, and the change it brings, if any.

    Speech started counts from the first frame of the voiced run that started it, so
    `speech_frames` is the utterance's true length.
    """
    voiced = level_dbfs > settings.threshold_dbfs
    voiced_run = turn.voiced_run + 1 if voiced else 0
    quiet_run = 0 if voiced else turn.quiet_run + 1
    if not turn.speaking:
        if voiced_run >= settings.start_frames:
            started = Turn(True, voiced_run, quiet_run, voiced_run)
            return started, TurnChange.SPEECH_STARTED
        return Turn(False, voiced_run, quiet_run, 0), None
    if quiet_run >= settings.end_frames:
        return Turn(False, voiced_run, quiet_run, 0), TurnChange.SPEECH_ENDED
    return Turn(True, voiced_run, quiet_run, turn.speech_frames + 1), None


def spoken_frames(turn: Turn) -> int:
    """Frames of the utterance in progress that were not its trailing quiet."""
    return max(0, turn.speech_frames - turn.quiet_run)
