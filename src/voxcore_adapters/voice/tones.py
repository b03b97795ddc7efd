"""`SpeechSynth` without a speech engine: text rendered as a deterministic melody of tones.

Each word becomes a tone whose pitch comes from the word's CRC-32 and whose length grows with
the word, with short gaps between words and longer ones after punctuation; so a prompt takes
about as long as it would take to say, the same text always sounds the same, and different
prompts sound different. It is what the scripted agent speaks with until a real TTS provider is
configured, and what the tests and benchmarks listen to.

The audio is quantized through μ-law once, so what the recording keeps of a prompt is exactly
what a μ-law carrier plays to the caller.
"""

from __future__ import annotations

import functools
import math
import re
import zlib
from array import array

from voxcore_domain.voice.audio import SAMPLE_RATE
from voxcore_domain.voice.mulaw import quantize, to_pcm

_WORD = re.compile(r"[\w']+|[.,;:?!]")
_PAUSE_AFTER = frozenset(".,;:?!")


class ToneSynth:
    """Renders text to tones at `level_dbfs` (RMS of each tone). The last `cache_size`
    renderings are kept: a script's fixed prompts are rendered once, while greetings that carry
    each contact's name come and go."""

    def __init__(self, level_dbfs: float = -16.0, cache_size: int = 64) -> None:
        # A sine's RMS is its peak over √2.
        self._peak = 32767 * math.sqrt(2) * 10 ** (level_dbfs / 20)
        if not 0 < self._peak <= 32767:
            raise ValueError(f"level_dbfs {level_dbfs} leaves no room for a sine")
        self.tones = functools.lru_cache(maxsize=cache_size)(self._quantized)
        """The rendering of a text, synchronously."""

    async def render(self, text: str) -> bytes:
        return self.tones(text)

    def _quantized(self, text: str) -> bytes:
        return quantize(self._render(text))

    def _render(self, text: str) -> bytes:
        samples = array("h")
        for token in _WORD.findall(text):
            if token in _PAUSE_AFTER:
                samples.extend(_silence(150))
                continue
            pitch = 300 + zlib.crc32(token.lower().encode()) % 20 * 30
            samples.extend(self._tone(pitch, min(80 + 30 * len(token), 400)))
            samples.extend(_silence(40))
        return to_pcm(samples)

    def _tone(self, hertz: int, ms: int) -> array[int]:
        count = SAMPLE_RATE * ms // 1000
        fade = SAMPLE_RATE * 10 // 1000
        step = 2 * math.pi * hertz / SAMPLE_RATE
        # A 10 ms ramp at each end: a tone that starts at full level clicks.
        return array(
            "h",
            (
                round(self._peak * min(1.0, i / fade, (count - i) / fade) * math.sin(step * i))
                for i in range(count)
            ),
        )


def _silence(ms: int) -> array[int]:
    return array("h", bytes(SAMPLE_RATE * ms // 1000 * 2))
