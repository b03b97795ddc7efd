"""The speech-to-speech pipeline against the local realtime server over real WebSockets: the
session it opens, the caller's audio going up, the model's audio coming down onto the leg,
barge-in, key presses, the model ending the call, and every way the session can fail.

The leg is a real `RoomLeg` whose voice goes to a recorded output (see the LiveKit room leg's
tests): what the pipeline plays, clears and hangs up is what a room would get.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import socket
import time
from collections.abc import Callable, Iterator

import pytest

from tests.integration.livekit.test_room_leg import RecordedOutput
from voxcore_adapters.livekit.room_leg import RoomLeg
from voxcore_adapters.testing.carrier import quiet, voice
from voxcore_adapters.testing.realtime_server import RealtimeServer, Reply
from voxcore_adapters.voice.realtime import RealtimeAgent, RealtimeSettings
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import Disposition
from voxcore_domain.voice import mulaw
from voxcore_domain.voice.call import CallOutcome, CallSetup, StepKind

pytestmark = pytest.mark.integration

KEY = "sk-test-a-realtime-key-never-logged"
CALLER = "web-1"
GREETING = "Hello Ann, this is the clinic. How can I help?"
CALL = CallSetup("call-1", "tenant-1", "adhoc", "agent-1", variables={"name": "Ann"})


@pytest.fixture
def server() -> Iterator[RealtimeServer]:
    replies = (
        Reply(GREETING),
        Reply("Thank you, goodbye.", end_call=True),
    )
    with RealtimeServer(KEY, replies) as running:
        yield running


def agent(server: RealtimeServer, **changes: object) -> RealtimeAgent:
    values: dict[str, object] = {
        "api_key": KEY,
        "url": server.url,
        "model": "gpt-realtime",
        "voice": "marin",
        "instructions": "You are the clinic's assistant.",
        **changes,
    }
    return RealtimeAgent(RealtimeSettings(**values))  # type: ignore[arg-type]


def room_leg(played: bool = True) -> tuple[RoomLeg, RecordedOutput]:
    output = RecordedOutput()
    if not played:
        output.played.clear()
    leg = RoomLeg(output, CALLER)
    leg.participant_joined(CALLER)
    return leg, output


def say(leg: RoomLeg, pcm: bytes) -> None:
    from livekit import rtc

    for at in range(0, len(pcm), 320):
        chunk = pcm[at : at + 320]
        leg.audio(CALLER, rtc.AudioFrame(chunk, 8000, 1, len(chunk) // 2))


async def until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.01)


async def test_a_call_greets_answers_and_ends_when_the_model_says_so(
    server: RealtimeServer,
) -> None:
    leg, output = room_leg()
    call = asyncio.ensure_future(agent(server).run(CALL, leg))
    await until(lambda: server.received_types().count("response.create") == 1)
    greeting = -(-len(server.synth.tones(GREETING)) // 320)  # in 20 ms frames
    await until(lambda: server.responses == ["completed"])  # the caller lets it end
    await until(lambda: len(output.frames) >= greeting)
    spoken = voice(600) + quiet(600)
    say(leg, spoken)
    outcome: CallOutcome = await asyncio.wait_for(call, 10)

    def tool_outputs() -> list[object]:
        return [
            event["item"]
            for event in server.received
            if event["type"] == "conversation.item.create"
            and event["item"]["type"] == "function_call_output"
        ]

    # The server's thread may still be reading the last events the client sent before closing.
    await until(lambda: len(tool_outputs()) == 1)

    assert outcome.disposition is Disposition.COMPLETED
    assert outcome.reason == "the agent ended the call"
    assert outcome.turns == 2
    assert len(output.frames) > greeting
    assert output.left == 1  # the agent hung up once the goodbye had played

    (handshake,) = server.handshakes
    assert handshake == {"model": "gpt-realtime"}
    update = server.received[0]
    assert update["type"] == "session.update"
    session = update["session"]
    assert session["type"] == "realtime"
    assert session["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert session["audio"]["output"] == {"format": {"type": "audio/pcmu"}, "voice": "marin"}
    assert session["audio"]["input"]["turn_detection"]["type"] == "server_vad"
    assert session["instructions"].startswith("You are the clinic's assistant.")
    assert "- name: Ann" in session["instructions"]
    assert [tool["name"] for tool in session["tools"]] == ["end_call"]
    appended = b"".join(
        base64.b64decode(event["audio"])
        for event in server.received
        if event["type"] == "input_audio_buffer.append"
    )
    assert mulaw.decode(appended) == mulaw.quantize(spoken)
    kinds = [step.kind for step in outcome.steps]
    assert kinds.count(StepKind.PROMPT) == 2
    assert StepKind.SPEECH_STARTED in kinds
    assert StepKind.SPEECH_ENDED in kinds


async def test_talking_over_the_agent_clears_the_leg_and_truncates_what_was_not_heard(
    server: RealtimeServer,
) -> None:
    server.delta_pause_s = 0.05
    leg, output = room_leg(played=False)  # nothing the agent says has played yet
    call = asyncio.ensure_future(agent(server).run(CALL, leg))
    await until(lambda: len(output.frames) == 5)  # the first 100 ms delta, waiting to play
    say(leg, voice(300))
    await until(lambda: "conversation.item.truncate" in server.received_types())
    assert output.cleared == 1
    (truncate,) = [e for e in server.received if e["type"] == "conversation.item.truncate"]
    assert truncate["content_index"] == 0
    assert truncate["audio_end_ms"] == 0
    assert truncate["item_id"].startswith("item_")
    leg.participant_left(CALLER)
    outcome = await asyncio.wait_for(call, 10)
    assert outcome.disposition is Disposition.HUNG_UP
    assert StepKind.BARGE_IN in [step.kind for step in outcome.steps]
    assert server.responses[0] == "cancelled"  # the server stopped answering, too
    assert output.left == 0  # nobody to hang up on: the caller left


async def test_a_key_press_is_told_to_the_model_and_its_errors_do_not_end_the_call(
    server: RealtimeServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.delta_pause_s = 0.05
    leg, output = room_leg()
    call = asyncio.ensure_future(agent(server).run(CALL, leg))
    await until(lambda: len(output.frames) > 5)
    with caplog.at_level(logging.WARNING, logger="voxcore_adapters.voice.realtime"):
        leg.dtmf(CALLER, "5")  # while the greeting is still coming: the server refuses one more
        await until(lambda: "conversation_already_has_active_response" in caplog.text)
    texts = [
        e["item"]["content"][0]["text"]
        for e in server.received
        if e["type"] == "conversation.item.create" and e["item"]["type"] == "message"
    ]
    assert texts == ["The caller pressed the key 5."]
    assert not call.done()
    leg.participant_left(CALLER)
    outcome = await asyncio.wait_for(call, 10)
    assert (outcome.disposition, outcome.digits) == (Disposition.HUNG_UP, "5")
    assert KEY not in caplog.text


async def test_a_wrong_api_key_fails_the_call_without_saying_the_key(
    server: RealtimeServer, caplog: pytest.LogCaptureFixture
) -> None:
    leg, output = room_leg()
    wrong = "sk-test-the-wrong-key-that-must-not-leak"
    with caplog.at_level(logging.DEBUG):
        outcome = await agent(server, api_key=wrong).run(CALL, leg)
    assert outcome == CallOutcome.failed("the realtime provider refused the session: 401")
    assert output.left == 1
    assert wrong not in caplog.text
    assert wrong not in repr(RealtimeSettings(api_key=wrong))


async def test_the_provider_closing_the_session_fails_the_call_and_hangs_up(
    server: RealtimeServer,
) -> None:
    server.delta_pause_s = 0.05
    leg, output = room_leg()
    call = asyncio.ensure_future(agent(server).run(CALL, leg))
    await until(lambda: len(output.frames) > 5)
    server.drop_sessions()
    outcome = await asyncio.wait_for(call, 10)
    assert outcome.disposition is Disposition.FAILED
    assert outcome.reason == "the realtime provider closed the session (1011)"
    assert output.left == 1


async def test_an_unreachable_provider_fails_the_call() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    leg, output = room_leg()
    settings = RealtimeSettings(api_key=KEY, url=f"ws://127.0.0.1:{port}/v1/realtime")
    outcome = await RealtimeAgent(settings).run(CALL, leg)
    assert outcome.disposition is Disposition.FAILED
    assert outcome.reason.startswith("cannot reach the realtime provider")
    assert output.left == 1


@pytest.mark.parametrize(
    ("provider_settings", "field"),
    [
        ({"url": "https://api.example.com/v1/realtime"}, "provider_settings.url"),
        ({"model": " "}, "provider_settings.model"),
        ({"voice": ""}, "provider_settings.voice"),
        ({"connect_timeout_s": 0}, "provider_settings.connect_timeout_s"),
    ],
)
def test_bad_provider_settings_are_refused_naming_them(
    provider_settings: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        RealtimeSettings.from_provider(provider_settings, api_key=KEY)
    assert refused.value.field == field


def test_provider_settings_need_the_workers_api_key() -> None:
    with pytest.raises(ValidationError) as refused:
        RealtimeSettings.from_provider({"model": "gpt-realtime"}, api_key=None)
    assert refused.value.field == "realtime_api_key"
    settings = RealtimeSettings.from_provider(
        {"model": "gpt-realtime-mini", "voice": "cedar", "transfer_to": "+14155550199"},
        api_key=KEY,
        instructions="Be brief.",
    )
    assert (settings.model, settings.voice, settings.instructions) == (
        "gpt-realtime-mini",
        "cedar",
        "Be brief.",
    )
    assert KEY not in repr(settings)
