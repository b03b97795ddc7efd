"""G.711 μ-law tables: the reference vectors, and round trips over every input."""

from __future__ import annotations

from array import array

from hypothesis import given
from hypothesis import strategies as st

from voxcore_domain.voice import mulaw


def pcm(*values: int) -> bytes:
    return mulaw.to_pcm(array("h", values))


def values(data: bytes) -> list[int]:
    return list(mulaw.samples(data))


def test_reference_vectors_of_g711() -> None:
    # As `audioop` (Sun's g711.c) maps them: 0x00 and 0x80 are the extremes, 0xFF and 0x7F
    # the two zeros, 0x0F and 0x8F the bottom of the top segment.
    assert values(mulaw.decode(bytes([0x00, 0x80, 0xFF, 0x7F, 0x0F, 0x8F]))) == [
        -32124,
        32124,
        0,
        0,
        -16764,
        16764,
    ]
    assert mulaw.encode(pcm(0, 32767, -32768, 8, -8, 1000)) == bytes(
        [0xFF, 0x80, 0x00, 0xFE, 0x7E, 0xCE]
    )


def test_every_code_but_negative_zero_survives_a_round_trip() -> None:
    codes = bytes(code for code in range(256) if code != 0x7F)
    assert mulaw.encode(mulaw.decode(codes)) == codes
    # Negative zero decodes to 0, which encodes as positive zero.
    assert mulaw.encode(mulaw.decode(b"\x7f")) == b"\xff"


def test_every_sample_quantizes_within_one_step_and_in_order() -> None:
    everything = array("h", range(-32768, 32768))
    quantized = mulaw.samples(mulaw.quantize(mulaw.to_pcm(everything)))
    for sample, heard in zip(everything, quantized, strict=True):
        magnitude = min(abs(sample), 32124)
        # A step of μ-law's segment is about 1/16 of the magnitude (plus the bias); beyond
        # 32124 everything clips to the top level.
        assert abs(heard - sample) <= (magnitude + 132) >> 4 or abs(sample) > 32124
    assert list(quantized) == sorted(quantized)


@given(st.binary(max_size=400))
def test_decode_makes_two_bytes_per_code_and_encode_gives_them_back(codes: bytes) -> None:
    decoded = mulaw.decode(codes)
    assert len(decoded) == 2 * len(codes)
    assert mulaw.encode(decoded) == codes.replace(b"\x7f", b"\xff")


@given(st.lists(st.integers(-32768, 32767), max_size=400))
def test_quantizing_twice_changes_nothing(samples: list[int]) -> None:
    once = mulaw.quantize(pcm(*samples))
    assert len(once) == 2 * len(samples)
    assert mulaw.quantize(once) == once


def test_an_odd_trailing_byte_is_not_a_sample() -> None:
    assert mulaw.encode(pcm(100) + b"\x01") == mulaw.encode(pcm(100))
