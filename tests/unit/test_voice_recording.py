"""Both sides of a call on one timeline, as a stereo WAV."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxcore_domain.errors import ValidationError
from voxcore_domain.voice.recording import Recording, read_stereo_wav


def tone(byte: int, samples: int) -> bytes:
    return bytes([byte, 0]) * samples


def test_the_agent_plays_from_the_callers_present_and_after_its_own_audio() -> None:
    recording = Recording()
    recording.hear(tone(1, 100))
    recording.say(tone(2, 50))
    recording.say(tone(3, 50))
    recording.hear(tone(1, 20))
    assert recording.agent == bytes(200) + tone(2, 50) + tone(3, 50)
    recording.hear(tone(1, 200))
    recording.say(tone(4, 10))
    assert recording.agent == bytes(200) + tone(2, 50) + tone(3, 50) + bytes(240) + tone(4, 10)


def test_a_barge_in_cuts_what_was_not_played_yet() -> None:
    recording = Recording()
    recording.say(tone(2, 100))
    recording.hear(tone(1, 30))
    recording.cut()
    assert recording.agent == tone(2, 30)


def test_the_wav_is_caller_left_agent_right_padded_to_the_longer() -> None:
    recording = Recording()
    recording.hear(tone(1, 10))
    recording.say(tone(2, 30))
    left, right = read_stereo_wav(recording.stereo_wav())
    assert left == tone(1, 10) + bytes(60)
    assert right == bytes(20) + tone(2, 30)


@given(st.lists(st.tuples(st.sampled_from(["hear", "say", "cut"]), st.binary(max_size=64))))
def test_the_caller_track_is_exactly_what_was_heard(steps: list[tuple[str, bytes]]) -> None:
    recording = Recording()
    heard = b""
    for action, data in steps:
        if action == "hear":
            recording.hear(data)
            heard += data[: len(data) - len(data) % 2]
        elif action == "say":
            recording.say(data)
        else:
            recording.cut()
    left, right = read_stereo_wav(recording.stereo_wav())
    assert left[: len(heard)] == heard
    assert set(left[len(heard) :]) <= {0}
    assert len(left) == len(right) == max(len(heard), len(recording.agent))


def test_reading_refuses_other_files() -> None:
    with pytest.raises(ValidationError):
        read_stereo_wav(b"RIFF not really")
