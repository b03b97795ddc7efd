"""A carrier's media stream over the worker's WebSocket: a whole Twilio call against the
scripted agent, recorded in the real S3 server; and every way a stream can go wrong."""

from __future__ import annotations

import base64
import json

import pytest
from litestar.testing import TestClient

from apps.fleet.settings import Settings
from tests.fleet.support import PARAMETERS, CarrierOnSocket, wait_idle, worker_app
from voxcore_adapters.fakes.media_fakes import InMemoryRecordingStore
from voxcore_adapters.s3 import S3RecordingStore
from voxcore_adapters.testing.carrier import TwilioCarrier, quiet, voice
from voxcore_adapters.voice.tones import ToneSynth
from voxcore_domain.voice.recording import read_stereo_wav
from voxcore_domain.voice.script import Script

SILENT_FRAME = base64.b64encode(b"\xff" * 160).decode()
"""20 ms of μ-law silence."""


def common_prefix(a: bytes, b: bytes) -> int:
    size = 0
    for left, right in zip(a, b, strict=False):
        if left != right:
            break
        size += 1
    return size


def test_a_twilio_call_talks_marks_clears_and_is_recorded_in_s3(
    settings: Settings, s3_recordings: S3RecordingStore
) -> None:
    app = worker_app(settings, recordings=s3_recordings)
    with TestClient(app) as client, client.websocket_connect("/media/twilio") as ws:
        call = CarrierOnSocket(ws, TwilioCarrier(PARAMETERS))
        call.answer()
        carrier = call.carrier
        assert carrier.marks == ["greeting-1"]
        slot = client.get("/health").json()["slot"]
        assert (slot["state"], slot["call_id"]) == ("busy", "call-1")

        # The caller talks over the greeting: the agent clears it, Twilio sends its mark back.
        call.send(carrier.say(quiet(300) + voice(800)))
        call.pump(lambda: carrier.clears == 1)
        assert carrier.events[-2:] == ["mark:greeting-1", "clear"]
        assert carrier.echoed == ["greeting-1"]
        call.send(carrier.say(quiet(700)))
        call.pump(lambda: "reply-2" in carrier.marks)
        call.listen()
        assert carrier.echoed[-1] == "reply-2"

        # A key press is the caller's turn too.
        call.send(carrier.press("5"))
        call.pump(lambda: "reply-3" in carrier.marks)
        call.listen()
        call.reply()
        assert carrier.marks[-1] == "closing-4"
        call.listen()
        close = call.closed()
        assert (close.code, close.detail) == (1000, "call ended: completed")
        assert client.get("/health").json()["slot"]["state"] == "idle"
        assert 'vox_fleet_calls_total{disposition="completed"} 1.0' in client.get("/metrics").text

    (info,) = s3_recordings.for_call("tenant-1", "call-1")
    assert (info.key, info.campaign_id, info.content_type) == (
        "tenant-1/call-1/call.wav",
        "campaign-1",
        "audio/wav",
    )
    caller, agent = read_stereo_wav(s3_recordings.get(info.key))
    # The caller's side is exactly what the carrier sent, decoded from μ-law, up to the hang-up
    # (the agent stopped reading when the goodbye's mark came back, 40 ms before the end).
    assert caller == bytes(carrier.sent[: len(caller)])
    assert len(carrier.sent) - len(caller) == 640
    # The agent's side holds each prompt the carrier heard, in order; the greeting only up to
    # where the caller barged in.
    greeting = carrier.prompts["greeting-1"]
    start = agent.find(greeting[:1600])
    kept = common_prefix(agent[start:], greeting)
    assert start > 0
    assert 1600 <= kept < len(greeting)
    assert set(agent[start + kept : start + kept + 320]) == {0}
    at = start + kept
    for mark in ("reply-2", "reply-3", "closing-4"):
        found = agent.find(carrier.prompts[mark], at)
        assert found >= at, mark
        at = found + len(carrier.prompts[mark])
    assert set(agent[at:]) <= {0}


def test_the_greeting_says_the_contacts_variables(settings: Settings) -> None:
    with (
        TestClient(worker_app(settings)) as client,
        client.websocket_connect("/media/twilio") as ws,
    ):
        call = CarrierOnSocket(ws, TwilioCarrier(PARAMETERS))
        call.answer()
        expected = ToneSynth().tones(Script().render({"name": "Ann"}).greeting)
        assert call.carrier.prompts["greeting-1"] == expected
        assert expected != ToneSynth().tones(Script().render({"name": "Bob"}).greeting)


def test_a_caller_who_hangs_up_ends_the_call_and_frees_the_slot(settings: Settings) -> None:
    store = InMemoryRecordingStore()
    with TestClient(worker_app(settings, recordings=store)) as client:
        with client.websocket_connect("/media/twilio") as ws:
            call = CarrierOnSocket(ws, TwilioCarrier(PARAMETERS))
            call.answer()
            call.send(call.carrier.stop())
            close = call.closed()
            assert (close.code, close.detail) == (1000, "call ended: hung_up")
        assert client.get("/health").json()["slot"]["state"] == "idle"
    caller, agent = read_stereo_wav(store.get("tenant-1/call-1/call.wav"))
    sent = bytes(call.carrier.sent)
    # The greeting was still playing at the hang-up: the caller's side is padded to its end.
    assert caller[: len(sent)] == sent
    assert set(caller[len(sent) :]) == {0}
    assert len(agent) > len(sent)


def test_a_carrier_that_drops_the_socket_frees_the_slot(settings: Settings) -> None:
    with TestClient(worker_app(settings)) as client:
        with client.websocket_connect("/media/twilio") as ws:
            call = CarrierOnSocket(ws, TwilioCarrier(PARAMETERS))
            call.answer()
            ws.close()
        assert wait_idle(client)
        assert 'vox_fleet_calls_total{disposition="hung_up"} 1.0' in client.get("/metrics").text


def start_frame(**changes: object) -> str:
    start = json.loads(TwilioCarrier(PARAMETERS).opening()[1])
    start["start"].update(changes)
    return json.dumps(start)


def media_frame(payload: str = SILENT_FRAME) -> str:
    return json.dumps({"event": "media", "streamSid": "MZ1", "media": {"payload": payload}})


@pytest.mark.parametrize(
    ("frames", "code", "reason"),
    [
        ([media_frame()], 1008, "media before start"),
        (["not json"], 1007, "a frame is not JSON"),
        (['{"event": "start"}'], 1007, "start: start must be an object"),
        ([start_frame(customParameters={"name": "Ann"})], 1008, "carry no call_id"),
        (
            [start_frame(customParameters={"call_id": "c/1", "tenant_id": "t"})],
            1008,
            "start: parameter",
        ),
        (
            [start_frame(mediaFormat={"encoding": "audio/x-alaw", "sampleRate": 8000})],
            1003,
            "is not audio/x-mulaw",
        ),
        (
            [start_frame(mediaFormat={"encoding": "audio/x-mulaw", "sampleRate": 16000})],
            1003,
            "16000 Hz audio is not supported",
        ),
        ([start_frame(), media_frame("%%%")], 1007, "media: payload is not valid base64"),
        ([start_frame(), '{"event": "dance"}'], 1007, "unknown event 'dance'"),
        ([start_frame(), start_frame()], 1008, "a second start on one stream"),
        (
            [start_frame(), '{"event": "dtmf", "dtmf": {"digit": "x"}}'],
            1007,
            "dtmf: 'x' is not a DTMF key",
        ),
    ],
)
def test_a_bad_frame_closes_the_stream_with_a_code_and_a_reason_and_frees_the_slot(
    settings: Settings, frames: list[str], code: int, reason: str
) -> None:
    with TestClient(worker_app(settings)) as client:
        with client.websocket_connect("/media/twilio") as ws:
            for frame in frames:
                ws.send_text(frame)
            close = CarrierOnSocket(ws, TwilioCarrier(PARAMETERS)).closed()
            assert close.code == code
            assert reason in close.detail
        assert client.get("/health").json()["slot"]["state"] == "idle"
        # The worker is none the worse: the next call runs.
        with client.websocket_connect("/media/twilio") as ws:
            CarrierOnSocket(ws, TwilioCarrier(PARAMETERS)).answer()


def test_a_binary_frame_is_not_part_of_the_protocol(settings: Settings) -> None:
    with (
        TestClient(worker_app(settings)) as client,
        client.websocket_connect("/media/twilio") as ws,
    ):
        ws.send_bytes(b"\x00\x01")
        close = CarrierOnSocket(ws, TwilioCarrier(PARAMETERS)).closed()
        assert (close.code, close.detail) == (1003, "binary frames are not part of this protocol")


def test_an_unknown_carrier_is_refused(settings: Settings) -> None:
    with TestClient(worker_app(settings)) as client, client.websocket_connect("/media/acme") as ws:
        close = CarrierOnSocket(ws, TwilioCarrier(PARAMETERS)).closed()
        assert close.code == 1008
        assert close.detail == "unknown carrier 'acme': one of exotel, plivo, telnyx, twilio"


def test_a_silent_stream_fails_the_call(settings: Settings) -> None:
    with TestClient(worker_app(settings)) as client:
        with client.websocket_connect("/media/twilio") as ws:
            call = CarrierOnSocket(ws, TwilioCarrier(PARAMETERS))
            call.answer()
            close = call.closed()
            assert (close.code, close.detail) == (1011, "no media for 1 s")
        assert 'vox_fleet_calls_total{disposition="failed"} 1.0' in client.get("/metrics").text


def test_a_stream_for_another_call_finds_the_worker_busy(settings: Settings) -> None:
    with TestClient(worker_app(settings)) as client:
        with client.websocket_connect("/media/twilio") as first:
            CarrierOnSocket(first, TwilioCarrier(PARAMETERS)).answer()
            with client.websocket_connect("/media/twilio") as second:
                other = TwilioCarrier({**PARAMETERS, "call_id": "call-2"})
                call = CarrierOnSocket(second, other)
                call.send(other.opening())
                close = call.closed()
                assert close.code == 1013
                assert close.detail == "busy: this worker holds a call"
        assert (
            'vox_fleet_handovers_total{result="busy",route="media"} 1.0'
            in client.get("/metrics").text
        )
