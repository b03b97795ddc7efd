"""G.711 μ-law, the telephone network's 8-bit audio encoding, as lookup tables.

`audioop` did this until Python deprecated it (removed in 3.13); these tables follow the same
ITU-T G.711 reference algorithm (Sun's `g711.c`, which `audioop` used), so a byte encodes and
decodes exactly as it did there. PCM here is signed 16-bit little-endian, the layout of WAV files
and of 16-bit carrier streams.
"""

from __future__ import annotations

import sys
from array import array

BIAS = 0x84
"""Added to the magnitude before encoding, so every segment starts on a power of two."""
CLIP = 32635
"""Largest magnitude that encodes without overflowing the top segment."""


def _decode_byte(code: int) -> int:
    code = ~code & 0xFF
    magnitude = (((code & 0x0F) << 3) + BIAS) << ((code & 0x70) >> 4)
    return BIAS - magnitude if code & 0x80 else magnitude - BIAS


def _encode_sample(sample: int) -> int:
    sign = 0x7F if sample < 0 else 0xFF
    magnitude = min(-sample if sample < 0 else sample, CLIP) + BIAS
    segment = max(magnitude.bit_length() - 8, 0)
    mantissa = (magnitude >> (segment + 3)) & 0x0F
    return ((segment << 4) | mantissa) ^ sign


DECODE = tuple(_decode_byte(code) for code in range(256))
"""The linear sample each μ-law byte stands for."""

# Indexed by the sample's top 14 bits: μ-law ignores the bottom two (G.711 takes 14-bit input).
_ENCODE = bytes(_encode_sample(top << 2) for top in range(-8192, 8192))
_DECODE_PCM = array("h", DECODE)
if sys.byteorder == "big":
    _DECODE_PCM.byteswap()
_DECODE_BYTES = tuple(_DECODE_PCM[code : code + 1].tobytes() for code in range(256))


def samples(pcm: bytes) -> array[int]:
    """The signed 16-bit samples of little-endian `pcm` (an odd trailing byte is dropped)."""
    values = array("h")
    values.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if sys.byteorder == "big":
        values.byteswap()
    return values


def to_pcm(values: array[int]) -> bytes:
    """Little-endian bytes of signed 16-bit samples."""
    if sys.byteorder == "big":
        values = array("h", values)
        values.byteswap()
    return values.tobytes()


def encode(pcm: bytes) -> bytes:
    """μ-law bytes of signed 16-bit little-endian PCM, one byte per sample."""
    table = _ENCODE
    return bytes([table[(sample >> 2) + 8192] for sample in samples(pcm)])


def decode(data: bytes) -> bytes:
    """Signed 16-bit little-endian PCM of μ-law bytes, two bytes per byte."""
    return b"".join(map(_DECODE_BYTES.__getitem__, data))


def quantize(pcm: bytes) -> bytes:
    """`pcm` as it sounds after a trip through μ-law: what the far end of a call hears."""
    return decode(encode(pcm))
