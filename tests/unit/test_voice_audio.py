"""Frames, levels and durations of telephone audio."""

from __future__ import annotations

import math
from array import array

from hypothesis import given
from hypothesis import strategies as st

from voxcore_domain.voice.audio import (
    FRAME_BYTES,
    SILENCE_DBFS,
    Framer,
    duration_ms,
    frames_for_ms,
    level_dbfs,
    silence,
)
from voxcore_domain.voice.mulaw import to_pcm


def sine(amplitude: float, ms: int = 20) -> bytes:
    count = 8 * ms
    return to_pcm(
        array(
            "h", (round(amplitude * math.sin(2 * math.pi * 400 * i / 8000)) for i in range(count))
        )
    )


def test_levels_are_relative_to_full_scale() -> None:
    assert level_dbfs(silence(20)) == SILENCE_DBFS
    assert level_dbfs(b"") == SILENCE_DBFS
    assert math.isclose(level_dbfs(sine(32767)), -3.0, abs_tol=0.1)
    assert math.isclose(level_dbfs(sine(3277)), -23.0, abs_tol=0.1)


def test_durations_and_frame_counts() -> None:
    assert duration_ms(silence(1000)) == 1000
    assert len(silence(20)) == FRAME_BYTES == 320
    assert frames_for_ms(20) == 1
    assert frames_for_ms(21) == 2
    assert frames_for_ms(0) == 0


@given(st.lists(st.integers(0, 2000), max_size=20))
def test_the_framer_cuts_any_chunking_into_the_same_frames(sizes: list[int]) -> None:
    audio = bytes(range(256)) * (sum(sizes) // 256 + 1)
    audio = audio[: sum(sizes)]
    framer = Framer()
    frames: list[bytes] = []
    at = 0
    for size in sizes:
        frames += framer.push(audio[at : at + size])
        at += size
    assert all(len(frame) == FRAME_BYTES for frame in frames)
    assert b"".join(frames) == audio[: len(audio) - len(audio) % FRAME_BYTES]
