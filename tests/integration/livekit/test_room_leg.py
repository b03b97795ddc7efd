"""The LiveKit room leg without a LiveKit server: frame conversion through the SDK's native
resampler, the room's events as the leg translates them, the agent's voice through a recorded
`RoomOutput`, and the worker's token. Joining a real room cannot be tested here (no LiveKit
server): only the failure to connect is."""

from __future__ import annotations

import array
import asyncio
import itertools
import math
import socket
from datetime import timedelta

import jwt
import pytest
from livekit import rtc

from voxcore_adapters.livekit.room_leg import (
    RoomJoinFailed,
    RoomLeg,
    TelephoneAudio,
    downmix,
    join_room,
    signal_url,
)
from voxcore_adapters.livekit.tokens import agent_token
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import Disposition
from voxcore_domain.ports import TransferResult
from voxcore_domain.voice.audio import FRAME_BYTES, FRAME_SAMPLES, level_dbfs
from voxcore_domain.voice.call import Audio, Digit, Hangup, Played

CALLER = "sip-call-1"


def sine(rate: int, channels: int, ms: int, hertz: float = 440.0, peak: int = 10000) -> bytes:
    count = rate * ms // 1000
    samples = array.array("h")
    for i in range(count):
        value = round(peak * math.sin(2 * math.pi * hertz * i / rate))
        samples.extend([value] * channels)
    return samples.tobytes()


def frame(pcm: bytes, rate: int, channels: int) -> rtc.AudioFrame:
    return rtc.AudioFrame(pcm, rate, channels, len(pcm) // 2 // channels)


class RecordedOutput:
    """A `RoomOutput` that keeps what it was given; playout waits until `played` is set."""

    def __init__(self) -> None:
        self.frames: list[rtc.AudioFrame] = []
        self.cleared = 0
        self.left = 0
        self.played = asyncio.Event()
        self.played.set()

    async def capture(self, frame: rtc.AudioFrame) -> None:
        self.frames.append(frame)

    def clear(self) -> None:
        self.cleared += 1

    async def wait_for_playout(self) -> None:
        await self.played.wait()

    async def leave(self) -> None:
        self.left += 1


async def next_event(leg: RoomLeg) -> object:
    async with asyncio.timeout(2):
        return await leg.receive()


# -- frame conversion -----------------------------------------------------------------------------


def test_downmix_averages_the_channels() -> None:
    stereo = array.array("h", [100, 200, -100, -300, 32767, 32767]).tobytes()
    assert array.array("h", downmix(stereo, 2)).tolist() == [150, -200, 32767]


def test_telephone_audio_passes_8k_mono_through_in_whole_20ms_frames() -> None:
    audio = TelephoneAudio()
    pcm = sine(8000, 1, 30)
    first = audio.incoming(frame(pcm[: len(pcm) // 3], 8000, 1))
    second = audio.incoming(frame(pcm[len(pcm) // 3 :], 8000, 1))
    assert first == []
    assert second == [pcm[:FRAME_BYTES]]


def test_telephone_audio_resamples_48k_stereo_to_8k_mono_keeping_pitch_and_level() -> None:
    audio = TelephoneAudio()
    pcm = sine(48000, 2, 1000)
    chunk = 48000 * 10 // 1000 * 2 * 2  # 10 ms of stereo, as rooms deliver it
    out: list[bytes] = []
    for at in range(0, len(pcm), chunk):
        out += audio.incoming(frame(pcm[at : at + chunk], 48000, 2))
    assert all(len(piece) == FRAME_BYTES for piece in out)
    # The resampler holds back its filter's tail: nearly a second comes out, never more.
    assert 45 <= len(out) <= 50
    samples = array.array("h", b"".join(out[5:]))
    crossings = sum(1 for a, b in itertools.pairwise(samples) if a < 0 <= b)
    seconds = len(samples) / 8000
    assert crossings / seconds == pytest.approx(440, rel=0.03)
    expected = level_dbfs(sine(8000, 1, 200))
    assert level_dbfs(b"".join(out[10:20])) == pytest.approx(expected, abs=0.5)


def test_outgoing_audio_is_cut_into_20ms_8k_frames_the_last_padded() -> None:
    pcm = sine(8000, 1, 50)
    frames = TelephoneAudio.outgoing(pcm)
    assert [(f.sample_rate, f.num_channels, f.samples_per_channel) for f in frames] == [
        (8000, 1, FRAME_SAMPLES)
    ] * 3
    joined = b"".join(bytes(f.data) for f in frames)
    assert joined[: len(pcm)] == pcm
    assert joined[len(pcm) :] == bytes(3 * FRAME_BYTES - len(pcm))


# -- events ---------------------------------------------------------------------------------------


async def test_only_the_callers_audio_is_heard() -> None:
    leg = RoomLeg(RecordedOutput(), CALLER)
    leg.audio("someone-else", frame(sine(8000, 1, 20), 8000, 1))
    leg.audio(CALLER, frame(sine(8000, 1, 40), 8000, 1))
    event = await next_event(leg)
    assert event == Audio(sine(8000, 1, 40))


async def test_without_a_named_caller_the_first_participant_is_the_caller() -> None:
    leg = RoomLeg(RecordedOutput())
    leg.participant_joined("web-call-1")
    leg.participant_joined("observer")
    await leg.wait_for_caller(1)
    assert leg.caller == "web-call-1"
    leg.participant_left("observer")
    leg.participant_left("web-call-1", "CLIENT_INITIATED")
    assert await next_event(leg) == Hangup("the caller left the room: CLIENT_INITIATED")


async def test_a_caller_who_never_comes_fails_the_join() -> None:
    leg = RoomLeg(RecordedOutput(), CALLER)
    leg.participant_joined("someone-else")
    with pytest.raises(RoomJoinFailed, match=r"sip-call-1 did not join the room within 0\.1 s"):
        await leg.wait_for_caller(0.1)


async def test_sip_dtmf_becomes_digits_and_bad_keys_are_dropped() -> None:
    leg = RoomLeg(RecordedOutput(), CALLER)
    leg.dtmf(CALLER, "5")
    leg.dtmf("someone-else", "1")
    leg.dtmf(CALLER, "x")
    leg.dtmf(None, "#")
    assert await next_event(leg) == Digit("5")
    assert await next_event(leg) == Digit("#")
    leg.participant_left(CALLER)
    assert await next_event(leg) == Hangup("the caller left the room")


async def test_the_phone_legs_hangup_status_ends_the_leg_for_good() -> None:
    leg = RoomLeg(RecordedOutput(), CALLER)
    leg.attributes_changed("someone-else", {"sip.callStatus": "hangup"})
    leg.attributes_changed(CALLER, {"sip.callStatus": "active"})
    leg.attributes_changed(CALLER, {"sip.callStatus": "hangup"})
    assert await next_event(leg) == Hangup("the caller hung up")
    assert await next_event(leg) == Hangup("the caller hung up")
    leg.audio(CALLER, frame(sine(8000, 1, 20), 8000, 1))
    leg.dtmf(CALLER, "1")
    assert await next_event(leg) == Hangup("the caller hung up")


async def test_losing_the_room_ends_the_leg() -> None:
    leg = RoomLeg(RecordedOutput(), CALLER)
    leg.disconnected("SIGNAL_CLOSE")
    assert await next_event(leg) == Hangup("the agent lost the room: SIGNAL_CLOSE")


# -- the agent's voice ----------------------------------------------------------------------------


async def test_prompts_play_in_order_and_report_their_marks_after_playout() -> None:
    output = RecordedOutput()
    output.played.clear()
    leg = RoomLeg(output, CALLER)
    await leg.play(sine(8000, 1, 40), "greeting-1")
    await leg.play(sine(8000, 1, 20), "reply-2")
    await asyncio.sleep(0.05)
    assert len(output.frames) == 2  # the second waits for the first's playout
    output.played.set()
    assert await next_event(leg) == Played("greeting-1")
    assert await next_event(leg) == Played("reply-2")
    assert len(output.frames) == 3


async def test_clear_drops_queued_prompts_and_their_marks() -> None:
    output = RecordedOutput()
    output.played.clear()
    leg = RoomLeg(output, CALLER)
    await leg.play(sine(8000, 1, 40), "greeting-1")
    await leg.play(sine(8000, 1, 40), "reply-2")
    await asyncio.sleep(0.05)
    await leg.clear()
    output.played.set()
    assert output.cleared == 1
    await leg.play(sine(8000, 1, 20), "reply-3")
    assert await next_event(leg) == Played("reply-3")
    assert len(output.frames) == 3


async def test_hanging_up_leaves_and_ends_the_call_once() -> None:
    output = RecordedOutput()
    ended: list[str] = []

    async def end_call() -> None:
        ended.append("room deleted")

    leg = RoomLeg(output, CALLER, end_call=end_call)
    await leg.hang_up()
    await leg.hang_up()
    assert (output.left, ended) == (1, ["room deleted"])
    assert await next_event(leg) == Hangup("the agent hung up")
    await leg.play(sine(8000, 1, 20), "late")
    assert output.frames == []


async def test_a_completed_transfer_ends_the_leg_without_ending_the_call() -> None:
    output = RecordedOutput()
    ended: list[str] = []
    targets: list[str] = []

    async def end_call() -> None:
        ended.append("room deleted")

    async def transfer(to: str) -> TransferResult:
        targets.append(to)
        return TransferResult()

    leg = RoomLeg(output, CALLER, end_call=end_call, transfer=transfer)
    assert (await leg.transfer("+14155550199")).completed
    assert await next_event(leg) == Hangup("the caller was transferred")
    await leg.hang_up()
    assert (targets, output.left, ended) == (["+14155550199"], 1, [])


async def test_a_failed_transfer_keeps_the_leg() -> None:
    async def transfer(to: str) -> TransferResult:
        return TransferResult(failure=Disposition.BUSY, sip_status=486)

    leg = RoomLeg(RecordedOutput(), CALLER, transfer=transfer)
    result = await leg.transfer("+14155550199")
    assert result.failure is Disposition.BUSY
    assert not leg.ended


async def test_a_browser_leg_cannot_be_transferred() -> None:
    leg = RoomLeg(RecordedOutput(), "web-1")
    assert not leg.can_transfer
    with pytest.raises(RoomJoinFailed, match="cannot be transferred"):
        await leg.transfer("+14155550199")


# -- joining --------------------------------------------------------------------------------------


async def test_joining_where_no_livekit_listens_fails_cleanly() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = agent_token("APIkey", "a-secret-long-enough-for-hs256-signing", "room-1", "agent-1")
    with pytest.raises(RoomJoinFailed, match="cannot join the LiveKit room"):
        await join_room(f"ws://127.0.0.1:{port}", token, caller=CALLER, caller_wait_s=1)


def test_the_agent_token_grants_one_room_as_an_agent_and_nothing_more() -> None:
    secret = "a-secret-long-enough-for-hs256-signing"
    token = agent_token("APIkey", secret, "room-1", "agent-call-1", ttl=timedelta(minutes=5))
    claims = jwt.decode(token, secret, algorithms=["HS256"], issuer="APIkey")
    assert claims["sub"] == "agent-call-1"
    assert claims["kind"] == "agent"
    assert claims["exp"] - claims["nbf"] == 300
    video = claims["video"]
    assert video["room"] == "room-1"
    assert video["roomJoin"] is True
    assert video["canPublish"] is True
    assert video["canSubscribe"] is True
    assert video["canPublishData"] is False
    assert video["canPublishSources"] == ["microphone"]
    assert video["agent"] is True
    for admin in ("roomCreate", "roomAdmin", "roomList", "roomRecord"):
        assert not video.get(admin)
    assert not claims.get("sip")


def test_the_agent_token_refuses_an_empty_room() -> None:
    with pytest.raises(ValidationError) as refused:
        agent_token("APIkey", "secret", " ", "agent-1")
    assert refused.value.field == "room"


@pytest.mark.parametrize(
    ("url", "signal"),
    [
        ("https://lk.example.com", "wss://lk.example.com"),
        ("http://127.0.0.1:7880", "ws://127.0.0.1:7880"),
        ("wss://lk.example.com", "wss://lk.example.com"),
    ],
)
def test_the_signal_url_is_the_servers_websocket(url: str, signal: str) -> None:
    assert signal_url(url) == signal
