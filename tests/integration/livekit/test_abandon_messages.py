"""`AbandonMessages`: the fake, and the LiveKit adapter with a recorded room in place of the
WebRTC join (which needs a LiveKit server that cannot run here: only its failure to connect is
tested, at the end)."""

from __future__ import annotations

import asyncio
import logging
import math
import socket

import jwt
import pytest

from tests.integration.livekit.recorded_room import RecordedRoom
from voxcore_adapters.fakes import FakeAbandonMessages
from voxcore_adapters.livekit import LiveKitSettings
from voxcore_adapters.livekit.abandon import LiveKitAbandonMessages
from voxcore_adapters.livekit.room_leg import RoomJoinFailed, publish_voice
from voxcore_adapters.voice.tones import ToneSynth
from voxcore_domain.errors import ValidationError
from voxcore_domain.ports import AbandonMessages, TelephonyError
from voxcore_domain.voice.audio import FRAME_BYTES, FRAME_SAMPLES, SAMPLE_RATE

pytestmark = pytest.mark.integration

SECRET = "a-secret-long-enough-for-hs256-signing"
SETTINGS = LiveKitSettings("https://livekit.example", "APIkey", SECRET)
MESSAGE = "This was Acme Energy. We will call you back; or call 0800 123 456."


class Said:
    """Where a contract test runs: the fake, or the adapter on a recorded room."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.fake = FakeAbandonMessages()
        self.room = RecordedRoom()
        self.messages: AbandonMessages = (
            self.fake
            if kind == "fake"
            else LiveKitAbandonMessages(SETTINGS, ToneSynth(), publish=self.room.publish)
        )

    def break_room(self) -> None:
        self.fake.fail = True
        self.room.refuse = True

    def said_anything(self) -> bool:
        return bool(self.fake.said or self.room.frames)


@pytest.fixture(params=["fake", "livekit"])
def said(request: pytest.FixtureRequest) -> Said:
    return Said(request.param)


# -- the contract ---------------------------------------------------------------------------------


async def test_a_message_is_played_before_play_returns(said: Said) -> None:
    await said.messages.play("call-1", "call-call-1", MESSAGE)

    assert said.said_anything()
    if said.kind == "fake":
        assert said.fake.said == [("call-1", "call-call-1", MESSAGE)]
    else:
        assert said.room.steps == ["join", "capture", "playout", "leave"]


async def test_a_room_that_cannot_be_reached_is_a_telephony_error(said: Said) -> None:
    said.break_room()
    with pytest.raises(TelephonyError):
        await said.messages.play("call-1", "call-call-1", MESSAGE)
    assert not said.said_anything()


@pytest.mark.parametrize(
    ("call_id", "room", "text", "field"),
    [("", "r", MESSAGE, "call_id"), ("c", " ", MESSAGE, "room"), ("c", "r", "  ", "text")],
)
async def test_empty_input_is_refused_naming_the_field(
    said: Said, call_id: str, room: str, text: str, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        await said.messages.play(call_id, room, text)
    assert refused.value.field == field
    assert not said.said_anything()
    assert said.room.joins == []


# -- the LiveKit adapter --------------------------------------------------------------------------


async def test_the_message_is_the_rendered_text_in_20ms_8k_mono_frames() -> None:
    room = RecordedRoom()
    synth = ToneSynth()
    messages = LiveKitAbandonMessages(SETTINGS, synth, publish=room.publish)

    await messages.play("call-1", "call-call-1", MESSAGE)

    pcm = await synth.render(MESSAGE)
    assert len(room.frames) == math.ceil(len(pcm) / FRAME_BYTES)
    assert all(
        (f.sample_rate, f.num_channels, f.samples_per_channel) == (SAMPLE_RATE, 1, FRAME_SAMPLES)
        for f in room.frames
    )
    played = b"".join(bytes(f.data) for f in room.frames)
    assert played[: len(pcm)] == pcm
    assert played[len(pcm) :] == bytes(len(played) - len(pcm))
    # About as long as saying it takes: seconds, not milliseconds or minutes.
    assert 1.0 < len(room.frames) * 0.02 < 15.0


async def test_each_campaigns_message_sounds_its_own() -> None:
    room = RecordedRoom()
    messages = LiveKitAbandonMessages(SETTINGS, ToneSynth(), publish=room.publish)

    await messages.play("call-1", "call-call-1", "This was Acme Energy.")
    first = b"".join(bytes(f.data) for f in room.frames)
    room.frames.clear()
    await messages.play("call-2", "call-call-2", "This was Brightwater Insurance.")
    second = b"".join(bytes(f.data) for f in room.frames)

    assert first
    assert second
    assert first != second


async def test_the_join_uses_an_agent_token_for_that_one_room_only() -> None:
    room = RecordedRoom()
    messages = LiveKitAbandonMessages(
        SETTINGS, ToneSynth(), publish=room.publish, connect_timeout_s=3.0
    )

    await messages.play("call-1", "call-call-1", MESSAGE)

    ((url, token, connect_timeout_s),) = room.joins
    assert (url, connect_timeout_s) == (SETTINGS.url, 3.0)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_aud": False})
    assert claims["sub"] == "abandon-call-1"
    assert claims["video"]["room"] == "call-call-1"
    assert claims["video"]["roomJoin"] is True
    assert not claims["video"].get("roomCreate")
    assert not claims["video"].get("roomAdmin")
    assert claims["exp"] - claims["nbf"] <= 5 * 60


async def test_a_join_that_hangs_fails_within_the_connect_timeout() -> None:
    room = RecordedRoom()
    room.connect = asyncio.Event()
    messages = LiveKitAbandonMessages(
        SETTINGS, ToneSynth(), publish=room.publish, connect_timeout_s=0.2
    )

    async with asyncio.timeout(2):
        with pytest.raises(TelephonyError, match=r"could not join room call-call-1 within 0\.2 s"):
            await messages.play("call-1", "call-call-1", MESSAGE)
    assert room.frames == []


async def test_a_message_that_never_finishes_playing_fails_after_its_length_and_leaves() -> None:
    room = RecordedRoom()
    room.playout.clear()
    messages = LiveKitAbandonMessages(
        SETTINGS, ToneSynth(), publish=room.publish, playout_margin_s=0.1
    )
    short = "Acme."

    async with asyncio.timeout(3):
        with pytest.raises(TelephonyError, match="did not play within"):
            await messages.play("call-1", "call-call-1", short)
    assert room.steps == ["join", "capture", "playout", "leave"]


async def test_a_failed_leave_is_logged_and_the_message_still_counts_as_played(
    caplog: pytest.LogCaptureFixture,
) -> None:
    room = RecordedRoom()
    room.leave_error = RuntimeError("engine gone")
    messages = LiveKitAbandonMessages(SETTINGS, ToneSynth(), publish=room.publish)

    with caplog.at_level(logging.WARNING, logger="voxcore_adapters.livekit.abandon"):
        await messages.play("call-1", "call-call-1", MESSAGE)

    assert room.steps[-1] == "leave"
    assert "could not leave the room" in caplog.text
    assert "engine gone" in caplog.text


async def test_the_secret_never_reaches_the_log(caplog: pytest.LogCaptureFixture) -> None:
    room = RecordedRoom()
    room.refuse = True
    messages = LiveKitAbandonMessages(SETTINGS, ToneSynth(), publish=room.publish)
    with caplog.at_level(logging.DEBUG), pytest.raises(TelephonyError) as failed:
        await messages.play("call-1", "call-call-1", MESSAGE)
    assert SECRET not in caplog.text
    assert SECRET not in str(failed.value)
    assert room.joins[0][1] not in str(failed.value)


# -- the real join --------------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_publishing_where_no_livekit_listens_fails_cleanly() -> None:
    url = f"ws://127.0.0.1:{closed_port()}"
    with pytest.raises(RoomJoinFailed, match="cannot join the LiveKit room"):
        await publish_voice(url, "not-a-token", connect_timeout_s=1)


async def test_the_adapter_on_the_real_join_where_no_livekit_listens_is_a_telephony_error() -> None:
    settings = LiveKitSettings(f"http://127.0.0.1:{closed_port()}", "APIkey", SECRET)
    messages = LiveKitAbandonMessages(settings, ToneSynth(), connect_timeout_s=3)
    async with asyncio.timeout(10):
        with pytest.raises(TelephonyError, match="cannot join the LiveKit room"):
            await messages.play("call-1", "call-call-1", MESSAGE)
