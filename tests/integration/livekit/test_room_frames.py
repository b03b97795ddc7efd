"""The framing between a worker and its room process: every message survives the trip, however
the pipe cuts the bytes, and bytes that are not a message are refused with `FrameError`."""

from __future__ import annotations

import asyncio
import itertools
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxcore_adapters.livekit.room_frames import (
    MAX_FRAME,
    Clear,
    FrameError,
    Join,
    Joined,
    JoinFailed,
    Leave,
    Message,
    Play,
    decode,
    encode,
    read_message,
)
from voxcore_domain.voice.call import Audio, Digit, Hangup, Played

text = st.text(max_size=40)
pcm = st.binary(max_size=2000)
messages: st.SearchStrategy[Message] = st.one_of(
    st.builds(
        Join,
        url=text,
        token=text,
        caller=st.none() | text,
        caller_wait_s=st.floats(0, 1e6),
        connect_timeout_s=st.floats(0, 1e6),
    ),
    st.builds(Play, pcm=pcm, mark=text),
    st.just(Clear()),
    st.just(Leave()),
    st.builds(Joined, caller=text),
    st.builds(JoinFailed, reason=text),
    st.builds(Audio, pcm=pcm),
    st.builds(Digit, digit=st.sampled_from("0123456789*#ABCD")),
    st.builds(Played, mark=text),
    st.builds(Hangup, reason=text),
)


async def read_all(chunks: list[bytes]) -> list[Message]:
    reader = asyncio.StreamReader()
    for chunk in chunks:
        reader.feed_data(chunk)
    reader.feed_eof()
    received: list[Message] = []
    while (message := await read_message(reader)) is not None:
        received.append(message)
    return received


def cut(stream: bytes, points: list[int]) -> list[bytes]:
    edges = sorted({0, len(stream), *(p % (len(stream) + 1) for p in points)})
    return [stream[a:b] for a, b in itertools.pairwise(edges)]


@settings(max_examples=200, deadline=None)
@given(st.lists(messages, max_size=12), st.lists(st.integers(0, 1 << 20), max_size=20))
def test_messages_round_trip_however_the_stream_is_cut(
    sent: list[Message], points: list[int]
) -> None:
    stream = b"".join(encode(message) for message in sent)
    assert asyncio.run(read_all(cut(stream, points))) == sent


def test_the_token_is_not_in_a_joins_repr() -> None:
    join = Join("wss://lk", "secret-token", "sip-1", 1.0, 2.0)
    assert "secret-token" not in repr(join)
    assert decode(encode(join)[4:]) == join


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"", "an empty frame"),
        (b"x", "unknown message kind"),
        (b"Cjunk", "Clear with a payload"),
        (b"d7x", "is not a DTMF key"),
        (b"dZ", "is not a DTMF key"),
        (b"p\xff", "not UTF-8"),
        (b"P\x00", "without its mark's length"),
        (b"P\x00\x09ab", "shorter than its mark"),
        (b"J{", "not JSON"),
        (b"J[]", "not a JSON object"),
        (b'J{"url": "u"}', "without a url and a token"),
        (b'J{"url": "u", "token": "t", "caller": 1}', "caller is not a string"),
        (b'J{"url": "u", "token": "t", "caller": null}', "without caller_wait_s"),
    ],
)
def test_a_frame_that_is_not_a_message_is_refused(body: bytes, why: str) -> None:
    with pytest.raises(FrameError, match=why):
        decode(body)


@pytest.mark.parametrize(
    ("stream", "why"),
    [
        (struct.pack("!I", 0), "a frame length of 0"),
        (struct.pack("!I", MAX_FRAME + 1), f"a frame length of {MAX_FRAME + 1}"),
        (b"\x00\x00", "inside a frame's length"),
        (struct.pack("!I", 5) + b"a12", "inside a frame"),
    ],
)
async def test_a_broken_stream_is_refused(stream: bytes, why: str) -> None:
    with pytest.raises(FrameError, match=why):
        await read_all([stream])


def test_a_mark_too_long_for_its_length_field_is_refused() -> None:
    with pytest.raises(FrameError, match="longer than 65535"):
        encode(Play(b"", "m" * 70000))
