"""Exotel, Plivo and Telnyx streams end to end: each carrier's own frames in, the agent's
greeting out in that carrier's frames, its mark played back, and the call recorded."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient, WebSocketTestSession

from apps.fleet.settings import Settings
from tests.fleet.support import PARAMETERS, wait_idle, worker_app
from voxcore_adapters.fakes.media_fakes import InMemoryRecordingStore
from voxcore_domain.voice import mulaw
from voxcore_domain.voice.audio import silence
from voxcore_domain.voice.recording import read_stereo_wav


@attrs.frozen
class Dialect:
    """How a test speaks one carrier's side."""

    name: str
    opening: list[dict[str, Any]]
    media: Callable[[bytes], dict[str, Any]]
    """A caller media frame for 100 ms of PCM."""
    decode: Callable[[bytes], bytes]
    """The agent's audio payloads as PCM."""
    played: Callable[[str], dict[str, Any]]
    """The carrier's frame saying a mark was played."""
    audio_event: str
    mark_event: str
    stop: dict[str, Any] | None
    """The carrier's stop frame; None for Plivo, which just closes the socket."""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


EXOTEL = Dialect(
    name="exotel",
    opening=[
        {"event": "connected"},
        {
            "event": "start",
            "sequence_number": "1",
            "stream_sid": "ex-stream",
            "start": {
                "stream_sid": "ex-stream",
                "call_sid": "ex-call",
                "account_sid": "ex-account",
                "custom_parameters": PARAMETERS,
                "media_format": {"encoding": "raw/slin", "sample_rate": "8000", "bit_rate": "16"},
            },
        },
    ],
    media=lambda pcm: {"event": "media", "stream_sid": "ex-stream", "media": {"payload": b64(pcm)}},
    decode=lambda payload: payload,
    played=lambda name: {"event": "mark", "stream_sid": "ex-stream", "mark": {"name": name}},
    audio_event="media",
    mark_event="mark",
    stop={"event": "stop", "stream_sid": "ex-stream", "stop": {"reason": "callended"}},
)
PLIVO = Dialect(
    name="plivo",
    opening=[
        {
            "event": "start",
            "sequenceNumber": 1,
            "start": {
                "callId": "pl-call",
                "streamId": "pl-stream",
                "accountId": "MA1",
                "tracks": ["inbound"],
                "mediaFormat": {"encoding": "audio/x-l16", "sampleRate": 8000},
            },
            "extra_headers": ";".join(f"{key}={value}" for key, value in PARAMETERS.items()),
        }
    ],
    media=lambda pcm: {
        "event": "media",
        "streamId": "pl-stream",
        "media": {"track": "inbound", "payload": b64(pcm)},
    },
    decode=lambda payload: payload,
    played=lambda name: {"event": "playedStream", "streamId": "pl-stream", "name": name},
    audio_event="playAudio",
    mark_event="checkpoint",
    stop=None,
)
TELNYX = Dialect(
    name="telnyx",
    opening=[
        {"event": "connected", "version": "1.0.0"},
        {
            "event": "start",
            "sequence_number": "1",
            "stream_id": "tx-stream",
            "start": {
                "call_control_id": "v3:tx-call",
                "media_format": {"encoding": "PCMU", "sample_rate": 8000, "channels": 1},
                "custom_parameters": PARAMETERS,
            },
        },
    ],
    media=lambda pcm: {
        "event": "media",
        "stream_id": "tx-stream",
        "media": {"track": "inbound", "payload": b64(mulaw.encode(pcm))},
    },
    decode=mulaw.decode,
    played=lambda name: {"event": "mark", "stream_id": "tx-stream", "mark": {"name": name}},
    audio_event="media",
    mark_event="mark",
    stop={"event": "stop", "stream_id": "tx-stream", "stop": {}},
)


def send(ws: WebSocketTestSession, body: dict[str, Any]) -> None:
    ws.send_text(json.dumps(body))


@pytest.mark.parametrize("dialect", [EXOTEL, PLIVO, TELNYX], ids=lambda d: d.name)
def test_a_call_in_each_carriers_dialect(settings: Settings, dialect: Dialect) -> None:
    store = InMemoryRecordingStore()
    with TestClient(worker_app(settings, recordings=store)) as client:
        with client.websocket_connect(f"/media/{dialect.name}") as ws:
            for body in dialect.opening:
                send(ws, body)
            # The callee says nothing: the agent greets after its answer wait (2 s).
            for _ in range(21):
                send(ws, dialect.media(silence(100)))
            audio: list[bytes] = []
            while True:
                answer = json.loads(ws.receive_text(timeout=5))
                if answer["event"] == dialect.audio_event:
                    audio.append(base64.b64decode(answer["media"]["payload"]))
                    continue
                assert answer["event"] == dialect.mark_event
                mark = answer.get("name") or answer["mark"]["name"]
                break
            assert mark == "greeting-1"
            if dialect.name == "exotel":
                assert {len(chunk) for chunk in audio} == {3200}
            send(ws, dialect.played(mark))
            if dialect.stop is None:
                ws.close()
            else:
                send(ws, dialect.stop)
                with pytest.raises(WebSocketDisconnect) as close:
                    ws.receive_text(timeout=5)
                assert (close.value.code, close.value.detail) == (1000, "call ended: hung_up")
        assert wait_idle(client)
    caller, agent = read_stereo_wav(store.get("tenant-1/call-1/call.wav"))
    # 2.1 s of the callee's silence, then padding to the end of the greeting.
    assert len(caller) > 33600
    assert set(caller) == {0}
    greeting = dialect.decode(b"".join(audio))
    # Exotel's last chunk is padded with silence; the prompt itself ends in a pause too.
    assert agent.find(greeting.rstrip(b"\x00")) >= 0
