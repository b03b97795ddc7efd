"""Both sides of a call on one timeline, and the stereo WAV they make.

The caller's audio arrives in real time, so it is the clock: the agent's audio is placed where
the caller's timeline stood when the agent sent it (or right after its previous prompt, which
the far end plays first), and a barge-in cuts the agent's track where the caller is now, since
what was queued beyond that point was never heard. Left channel: the caller; right: the agent.
"""

from __future__ import annotations

import io
import wave
from array import array

from voxcore_domain.errors import ValidationError
from voxcore_domain.voice.audio import SAMPLE_BYTES, SAMPLE_RATE
from voxcore_domain.voice.mulaw import samples, to_pcm

CALLER_CHANNEL = 0
AGENT_CHANNEL = 1


class Recording:
    """The two tracks of one call as they grow."""

    def __init__(self) -> None:
        self._caller = bytearray()
        self._agent = bytearray()

    @property
    def caller(self) -> bytes:
        return bytes(self._caller)

    @property
    def agent(self) -> bytes:
        """The agent's track, with silence where it was quiet."""
        return bytes(self._agent)

    def hear(self, pcm: bytes) -> None:
        """The caller's next audio."""
        self._caller += pcm[: len(pcm) - len(pcm) % SAMPLE_BYTES]

    def say(self, pcm: bytes) -> None:
        """Audio the agent queued now: it plays from the caller's present, or after the agent's
        earlier audio if that is still playing."""
        if len(self._agent) < len(self._caller):
            self._agent += bytes(len(self._caller) - len(self._agent))
        self._agent += pcm[: len(pcm) - len(pcm) % SAMPLE_BYTES]

    def cut(self) -> None:
        """The agent's queued audio was dropped (barge-in): nothing past now was played."""
        del self._agent[len(self._caller) :]

    def stereo_wav(self) -> bytes:
        """A 16-bit 8 kHz stereo WAV of the call: caller left, agent right, padded with silence
        to the longer track."""
        length = max(len(self._caller), len(self._agent)) // SAMPLE_BYTES
        left = samples(bytes(self._caller))
        right = samples(bytes(self._agent))
        left.extend(array("h", bytes(SAMPLE_BYTES * (length - len(left)))))
        right.extend(array("h", bytes(SAMPLE_BYTES * (length - len(right)))))
        frames = array("h", bytes(4 * length))
        frames[0::2] = left
        frames[1::2] = right
        out = io.BytesIO()
        with wave.open(out, "wb") as wav:
            wav.setnchannels(2)
            wav.setsampwidth(SAMPLE_BYTES)
            wav.setframerate(SAMPLE_RATE)
            wav.writeframes(to_pcm(frames))
        return out.getvalue()


def read_stereo_wav(data: bytes) -> tuple[bytes, bytes]:
    """The (caller, agent) tracks of a recording `Recording.stereo_wav` made."""
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            shape = (wav.getnchannels(), wav.getsampwidth(), wav.getframerate())
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as error:
        raise ValidationError("data", f"is not a WAV file: {error}") from None
    if shape != (2, SAMPLE_BYTES, SAMPLE_RATE):
        raise ValidationError("data", f"is not 16-bit 8 kHz stereo: {shape}")
    both = samples(frames)
    return to_pcm(both[CALLER_CHANNEL::2]), to_pcm(both[AGENT_CHANNEL::2])
