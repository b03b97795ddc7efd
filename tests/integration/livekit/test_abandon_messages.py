"""`AbandonMessages`: the fake, the LiveKit adapter with a recorded room in place of the WebRTC
join (which needs a LiveKit server that cannot run here: only its failure to connect is tested,
at the end), and the simulated carrier's adapter."""

from __future__ import annotations

import asyncio
import logging
import math
import socket

import jwt
import pytest

from tests.integration.livekit.recorded_room import RecordedRoom
from voxcore_adapters.fakes import Callee, FakeAbandonMessages
from voxcore_adapters.livekit import LiveKitSettings
from voxcore_adapters.livekit.abandon import LiveKitAbandonMessages
from voxcore_adapters.livekit.room_leg import RoomJoinFailed, publish_voice
from voxcore_adapters.sim import SimAbandonMessages, SimTelephony
from voxcore_adapters.voice.tones import ToneSynth
from voxcore_domain.errors import ValidationError
from voxcore_domain.ports import AbandonMessages, DialRequest, TelephonyError
from voxcore_domain.simulation.callees import CalleeModel
from voxcore_domain.voice.audio import FRAME_BYTES, FRAME_SAMPLES, SAMPLE_RATE

pytestmark = pytest.mark.integration

SECRET = "a-secret-long-enough-for-hs256-signing"
SETTINGS = LiveKitSettings("https://livekit.example", "APIkey", SECRET)
MESSAGE = "This was Acme Energy. We will call you back; or call 0800 123 456."


class Said:
    """Where a contract test runs: the fake, the LiveKit adapter on a recorded room, or the
    simulated carrier's adapter on an answered simulated call (`call-1` in `call-call-1`)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.fake = FakeAbandonMessages()
        self.room = RecordedRoom()
        self.sim = SimTelephony(CalleeModel())
        self.messages: AbandonMessages
        if kind == "fake":
            self.messages = self.fake
        elif kind == "livekit":
            self.messages = LiveKitAbandonMessages(SETTINGS, ToneSynth(), publish=self.room.publish)
        else:
            self.messages = SimAbandonMessages(self.sim, ToneSynth())

    async def answer(self) -> None:
        self.sim.script("+442079460000", Callee.answering())
        request = DialRequest(
            "call-1", "ST_1", "+442079460000", "+442071234567", 15.0, "call-call-1"
        )
        assert (await self.sim.place_call(request)).answered_at is not None

    async def break_room(self) -> None:
        self.fake.fail = True
        self.room.refuse = True
        await self.sim.hang_up("call-1", "call-call-1")

    def said_anything(self) -> bool:
        return bool(
            self.fake.said or self.room.frames or any(h.frames for h in self.sim.heard.values())
        )


@pytest.fixture(params=["fake", "livekit", "sim"])
async def said(request: pytest.FixtureRequest) -> Said:
    said = Said(request.param)
    await said.answer()
    return said


# -- the contract ---------------------------------------------------------------------------------


async def test_a_message_is_played_before_play_returns(said: Said) -> None:
    await said.messages.play("call-1", "call-call-1", MESSAGE)

    assert said.said_anything()
    if said.kind == "fake":
        assert said.fake.said == [("call-1", "call-call-1", MESSAGE)]
    elif said.kind == "livekit":
        assert said.room.steps == ["join", "capture", "playout", "leave"]
    else:
        assert said.sim.heard["call-1"].complete


async def test_a_room_that_cannot_be_reached_is_a_telephony_error(said: Said) -> None:
    await said.break_room()
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


# -- the simulated carrier ------------------------------------------------------------------------


async def sim_call(sim: SimTelephony, call_id: str = "call-1") -> str:
    """An answered simulated call; its room."""
    room = f"call-{call_id}"
    sim.script("+442079460001", Callee.answering())
    request = DialRequest(call_id, "ST_1", "+442079460001", "+442071234567", 15.0, room)
    assert (await sim.place_call(request)).answered_at is not None
    return room


async def test_the_sims_callee_hears_the_whole_rendered_message_in_real_time() -> None:
    sim = SimTelephony(CalleeModel())
    synth = ToneSynth()
    room = await sim_call(sim)
    started = asyncio.get_running_loop().time()

    await SimAbandonMessages(sim, synth).play("call-1", room, "Acme here; we will call back.")

    took = asyncio.get_running_loop().time() - started
    pcm = await synth.render("Acme here; we will call back.")
    heard = sim.heard["call-1"]
    assert heard.complete
    assert heard.frames == math.ceil(len(pcm) / FRAME_BYTES)
    assert heard.ms == heard.frames * 20
    # Said at the pace of speech: it took at least as long as the message lasts.
    assert took >= heard.ms / 1000 - 0.05
    # The message does not end the call: the dialler hangs up next.
    assert sim.live_calls == {"call-1": room}
    assert sim.hung_up == []


async def test_a_sim_call_that_ends_mid_message_is_a_telephony_error_and_keeps_what_was_heard() -> (
    None
):
    sim = SimTelephony(CalleeModel())
    room = await sim_call(sim)
    messages = SimAbandonMessages(sim, ToneSynth())
    playing = asyncio.get_running_loop().create_task(messages.play("call-1", room, MESSAGE))
    await asyncio.sleep(0.5)
    await sim.hang_up("call-1", room)

    with pytest.raises(TelephonyError, match="call call-1 ended"):
        await playing
    heard = sim.heard["call-1"]
    assert not heard.complete
    assert 0 < heard.frames < heard.sent


async def test_a_sim_message_that_cannot_keep_pace_fails_after_its_length() -> None:
    # A clock that never moves: every chunk seems due later than it is, so the message takes
    # far longer to say than it lasts.
    sim = SimTelephony(CalleeModel(), monotonic=lambda: 0.0)
    room = await sim_call(sim)
    messages = SimAbandonMessages(sim, ToneSynth(), playout_margin_s=0.1)

    async with asyncio.timeout(5):
        with pytest.raises(TelephonyError, match="did not play within"):
            await messages.play("call-1", room, "Acme.")
    assert not sim.heard["call-1"].complete


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
