"""`StreamLeg`: a carrier stream as a call leg, without a web server in between."""

from __future__ import annotations

import asyncio
import logging

import pytest

from voxcore_adapters.carriers import TelnyxCodec, TwilioCodec
from voxcore_adapters.carriers.frames import CloseCode, Encoding, FrameError, Start
from voxcore_adapters.carriers.leg import StreamClosed, StreamLeg, open_stream
from voxcore_adapters.testing.carrier import TwilioCarrier, voice
from voxcore_domain.voice import mulaw
from voxcore_domain.voice.call import Audio, Digit, Hangup, Played


class Wire:
    """Frames the carrier sent, waiting to be read, and frames the leg sent."""

    def __init__(self, frames: list[str | bytes | None]) -> None:
        self.incoming: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        for frame in frames:
            self.incoming.put_nowait(frame)
        self.sent: list[str] = []
        self.broken = False

    async def receive(self) -> str | bytes | None:
        return await self.incoming.get()

    async def send(self, frame: str) -> None:
        if self.broken:
            raise StreamClosed("gone")
        self.sent.append(frame)


START = Start("MZ00000000000000000000000000000001", "CA1", Encoding.MULAW, {"call_id": "c1"})


def leg_on(frames: list[str | bytes | None], idle_s: float = 1.0) -> tuple[StreamLeg, Wire]:
    wire = Wire(frames)
    return StreamLeg(TwilioCodec(), START, wire.receive, wire.send, idle_s), wire


async def test_the_opening_skips_connected_and_merges_url_parameters_under_the_start() -> None:
    carrier = TwilioCarrier({"call_id": "c1", "name": "Ann"})
    wire = Wire([*carrier.opening()])
    start = await open_stream(
        TwilioCodec(), wire.receive, 1.0, {"name": "from-url", "tenant_id": "t1"}
    )
    assert start.parameters == {"call_id": "c1", "name": "Ann", "tenant_id": "t1"}


@pytest.mark.parametrize(
    ("frames", "code", "reason"),
    [
        ([None], CloseCode.NORMAL, "the stream closed before its start"),
        ([], CloseCode.POLICY, "no start frame within 0.05 s"),
        (['{"event": "mark", "mark": {"name": "x"}}'], CloseCode.POLICY, "mark before start"),
    ],
)
async def test_an_opening_without_a_start_is_refused(
    frames: list[str | bytes | None], code: CloseCode, reason: str
) -> None:
    wire = Wire(frames)
    with pytest.raises(FrameError) as error:
        await open_stream(TwilioCodec(), wire.receive, 0.05)
    assert (error.value.code, error.value.reason) == (code, reason)


async def test_frames_become_leg_events() -> None:
    carrier = TwilioCarrier({"call_id": "c1"})
    sound = voice(20)
    frames = [*carrier.say(sound), *carrier.press("4"), '{"event": "mark", "mark": {"name": "m"}}']
    leg, _ = leg_on([*frames, *carrier.stop()])
    assert await leg.receive() == Audio(mulaw.quantize(sound))
    assert await leg.receive() == Digit("4")
    assert await leg.receive() == Played("m")
    assert await leg.receive() == Hangup("the carrier stopped the stream")
    assert await leg.receive() == Hangup("the carrier stopped the stream")
    assert leg.failure is None


async def test_prompts_go_out_in_20_ms_frames_followed_by_their_mark() -> None:
    leg, wire = leg_on([])
    await leg.play(bytes(800), "greeting-1")
    await leg.clear()
    carrier = TwilioCarrier({}, stream_sid=START.stream_id)
    for frame in wire.sent:
        carrier.hear(frame)
    assert carrier.events == ["media", "media", "media", "mark:greeting-1", "clear"]
    assert len(carrier.heard) == 800


async def test_a_bad_frame_fails_the_leg_with_its_close_code() -> None:
    leg, _ = leg_on(['{"event": "media", "media": {"payload": "!!"}}'])
    with pytest.raises(FrameError):
        await leg.receive()
    assert leg.failure is not None
    assert leg.failure.code is CloseCode.INVALID
    assert await leg.receive() == Hangup("media: payload is not valid base64")


async def test_a_silent_wire_fails_after_the_idle_time() -> None:
    leg, _ = leg_on([], idle_s=0.05)
    with pytest.raises(FrameError) as error:
        await leg.receive()
    assert (error.value.code, error.value.reason) == (CloseCode.INTERNAL, "no media for 0.05 s")


async def test_a_peer_that_left_ends_the_leg_as_hung_up() -> None:
    leg, wire = leg_on([])
    wire.broken = True
    await leg.play(bytes(320), "m")
    assert leg.ended
    assert await leg.receive() == Hangup("the carrier closed the stream")
    await leg.clear()
    assert wire.sent == []


async def test_the_carrier_closing_the_socket_is_a_hang_up() -> None:
    leg, _ = leg_on([None])
    assert await leg.receive() == Hangup("the carrier closed the stream")


async def test_carrier_error_reports_are_logged_and_the_call_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    wire = Wire(['{"event": "error", "payload": {"detail": "bad payload"}}', None])
    leg = StreamLeg(TelnyxCodec(), START, wire.receive, wire.send, 1.0)
    with caplog.at_level(logging.WARNING):
        assert await leg.receive() == Hangup("the carrier closed the stream")
    assert "bad payload" in caplog.text
