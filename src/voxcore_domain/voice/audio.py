"""Telephone audio as the voice rules see it: 8 kHz mono signed 16-bit PCM in 20 ms frames.

Every carrier sends about one frame per 20 ms of call, so frames are the call's clock: the
turn detector, the voicemail heuristic and the recording all count them instead of reading a
clock, and a test can play a minute of call in milliseconds.
"""

from __future__ import annotations

import math

from voxcore_domain.voice.mulaw import samples

SAMPLE_RATE = 8000
"""Samples per second: narrowband telephony (G.711)."""
SAMPLE_BYTES = 2
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000
FRAME_BYTES = FRAME_SAMPLES * SAMPLE_BYTES

SILENCE_DBFS = -96.0
"""The level of digital silence: below anything a 16-bit sample can carry."""


def frames_for_ms(ms: float) -> int:
    """Whole frames covering `ms` milliseconds, rounded up."""
    return max(0, math.ceil(ms / FRAME_MS))


def duration_ms(pcm: bytes) -> int:
    """How long `pcm` plays, in whole milliseconds."""
    return len(pcm) // SAMPLE_BYTES * 1000 // SAMPLE_RATE


def silence(ms: int) -> bytes:
    """`ms` milliseconds of digital silence."""
    return bytes(SAMPLE_RATE * ms // 1000 * SAMPLE_BYTES)


def level_dbfs(pcm: bytes) -> float:
    """Root-mean-square level of `pcm` relative to full scale: 0 for a full-scale square wave,
    about -3 for a full-scale sine, `SILENCE_DBFS` for silence or no samples."""
    values = samples(pcm)
    if not values:
        return SILENCE_DBFS
    power = math.fsum(value * value for value in values) / len(values)
    if power <= 0:
        return SILENCE_DBFS
    return max(SILENCE_DBFS, 10 * math.log10(power / (32768.0 * 32768.0)))


class Framer:
    """Cuts audio that arrives in chunks of any size (Twilio: 20 ms, Exotel: 100 ms or more)
    into whole 20 ms frames, keeping the remainder for the next chunk."""

    def __init__(self) -> None:
        self._pending = bytearray()

    def push(self, pcm: bytes) -> list[bytes]:
        """The whole frames now available, oldest first."""
        self._pending += pcm
        whole = len(self._pending) - len(self._pending) % FRAME_BYTES
        frames = [
            bytes(self._pending[at : at + FRAME_BYTES]) for at in range(0, whole, FRAME_BYTES)
        ]
        del self._pending[:whole]
        return frames
