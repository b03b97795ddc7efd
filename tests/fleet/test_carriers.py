"""Each carrier's frames, both ways, and the frames each refuses."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxcore_adapters.carriers import CODECS, ExotelCodec, PlivoCodec, TelnyxCodec, TwilioCodec
from voxcore_adapters.carriers.frames import (
    CarrierCodec,
    CloseCode,
    Connected,
    Dtmf,
    Encoding,
    FrameError,
    Ignored,
    Mark,
    Media,
    Notice,
    Start,
    Stop,
    chunks,
    close_reason,
    to_pcm,
)
from voxcore_domain.voice.mulaw import quantize

PAYLOAD = base64.b64encode(b"\x01\x02\x03").decode()


def frame(**body: Any) -> str:
    return json.dumps(body)


def test_twilio_frames_in() -> None:
    codec = TwilioCodec()
    assert codec.decode(frame(event="connected", protocol="Call", version="1.0.0")) == Connected()
    start = codec.decode(
        frame(
            event="start",
            sequenceNumber="1",
            streamSid="MZ1",
            start={
                "streamSid": "MZ1",
                "callSid": "CA1",
                "accountSid": "AC1",
                "tracks": ["inbound"],
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                "customParameters": {"call_id": "c1", "attempt": 2},
            },
        )
    )
    assert start == Start("MZ1", "CA1", Encoding.MULAW, {"call_id": "c1", "attempt": "2"})
    media = {"track": "inbound", "chunk": "1", "timestamp": "5", "payload": PAYLOAD}
    assert codec.decode(frame(event="media", media=media)) == Media(b"\x01\x02\x03")
    outbound = {**media, "track": "outbound"}
    assert codec.decode(frame(event="media", media=outbound)) == Ignored("outbound track")
    dtmf = {"track": "inbound_track", "digit": "7"}
    assert codec.decode(frame(event="dtmf", dtmf=dtmf)) == Dtmf("7")
    assert codec.decode(frame(event="mark", mark={"name": "greeting-1"})) == Mark("greeting-1")
    assert codec.decode(frame(event="stop", stop={"callSid": "CA1"})) == Stop(
        "the carrier stopped the stream"
    )


def test_twilio_frames_out() -> None:
    codec, start = TwilioCodec(), Start("MZ1", "CA1", Encoding.MULAW)
    assert json.loads(codec.media(start, b"\xff\x7f")) == {
        "event": "media",
        "streamSid": "MZ1",
        "media": {"payload": "/38="},
    }
    assert json.loads(codec.mark(start, "m1")) == {
        "event": "mark",
        "streamSid": "MZ1",
        "mark": {"name": "m1"},
    }
    assert json.loads(codec.clear(start)) == {"event": "clear", "streamSid": "MZ1"}


def test_exotel_speaks_snake_case_16_bit_pcm_in_padded_200_ms_chunks() -> None:
    codec = ExotelCodec()
    start = codec.decode(
        frame(
            event="start",
            sequence_number="1",
            stream_sid="MZ9",
            start={
                "stream_sid": "MZ9",
                "call_sid": "CA9",
                "account_sid": "AC9",
                "from": "+919876543210",
                "to": "+918047491899",
                "custom_parameters": {"call_id": "c9"},
                "media_format": {"encoding": "raw/slin", "sample_rate": "8000", "bit_rate": "16"},
            },
        )
    )
    assert start == Start("MZ9", "CA9", Encoding.L16, {"call_id": "c9"})
    assert isinstance(start, Start)
    sent = list(chunks(codec, start, bytes(range(200)) * 20))  # 4,000 bytes: 250 ms
    payloads = [base64.b64decode(json.loads(text)["media"]["payload"]) for text in sent]
    assert [len(payload) for payload in payloads] == [3200, 3200]
    assert payloads[1][800:] == bytes(2400)
    assert json.loads(sent[0])["stream_sid"] == "MZ9"
    assert json.loads(codec.clear(start)) == {"event": "clear", "stream_sid": "MZ9"}
    assert json.loads(codec.mark(start, "m")) == {
        "event": "mark",
        "stream_sid": "MZ9",
        "mark": {"name": "m"},
    }
    stop = frame(event="stop", stream_sid="MZ9", stop={"reason": "callended"})
    assert codec.decode(stop) == Stop("callended")


def test_plivo_plays_audio_with_checkpoints_and_reads_extra_headers() -> None:
    codec = PlivoCodec()
    start = codec.decode(
        frame(
            event="start",
            sequenceNumber=1,
            start={
                "callId": "uuid-call",
                "streamId": "uuid-stream",
                "accountId": "MA1",
                "tracks": ["inbound"],
                "mediaFormat": {"encoding": "audio/x-l16", "sampleRate": 8000},
            },
            extra_headers="call_id=c7;tenant_id=t7,name=Ann",
        )
    )
    parameters = {"call_id": "c7", "tenant_id": "t7", "name": "Ann"}
    assert start == Start("uuid-stream", "uuid-call", Encoding.L16, parameters)
    assert isinstance(start, Start)
    assert json.loads(codec.media(start, b"\x00\x01")) == {
        "event": "playAudio",
        "media": {"contentType": "audio/x-l16", "sampleRate": 8000, "payload": "AAE="},
    }
    assert json.loads(codec.mark(start, "m")) == {
        "event": "checkpoint",
        "streamId": "uuid-stream",
        "name": "m",
    }
    assert json.loads(codec.clear(start)) == {"event": "clearAudio", "streamId": "uuid-stream"}
    played = frame(event="playedStream", streamId="uuid-stream", name="m")
    assert codec.decode(played) == Mark("m")
    cleared = frame(event="clearedAudio", streamId="uuid-stream", sequenceNumber=9)
    assert codec.decode(cleared) == Ignored("cleared audio")
    digit = frame(event="dtmf", streamId="uuid-stream", dtmf={"digit": "#", "track": "inbound"})
    assert codec.decode(digit) == Dtmf("#")


def test_telnyx_carries_the_stream_id_at_the_top_and_reports_errors() -> None:
    codec = TelnyxCodec()
    start = codec.decode(
        frame(
            event="start",
            sequence_number="1",
            stream_id="32DE0DEA",
            start={
                "user_id": "u1",
                "call_control_id": "v3:abc",
                "client_state": "aGk=",
                "media_format": {"encoding": "PCMU", "sample_rate": 8000, "channels": 1},
                "custom_parameters": {"call_id": "c3"},
            },
        )
    )
    assert start == Start("32DE0DEA", "v3:abc", Encoding.MULAW, {"call_id": "c3"})
    assert isinstance(start, Start)
    media = json.loads(codec.media(start, b"\xff"))
    assert media == {"event": "media", "media": {"payload": "/w=="}}
    assert json.loads(codec.mark(start, "m")) == {"event": "mark", "mark": {"name": "m"}}
    assert json.loads(codec.clear(start)) == {"event": "clear"}
    error = frame(event="error", payload={"code": 100002, "title": "x", "detail": "bad media"})
    assert codec.decode(error) == Notice("bad media")


@pytest.mark.parametrize(
    ("codec", "text", "code", "reason"),
    [
        (TwilioCodec(), "[]", CloseCode.INVALID, "a frame is not a JSON object"),
        (TwilioCodec(), '{"event": 3}', CloseCode.INVALID, "a frame has no event name"),
        (TwilioCodec(), '{"event": "media"}', CloseCode.INVALID, "media: media must be an object"),
        (
            TwilioCodec(),
            '{"event": "media", "media": {"payload": 5}}',
            CloseCode.INVALID,
            "media: payload must be base64 text",
        ),
        (TwilioCodec(), '{"event": "mark", "mark": {}}', CloseCode.INVALID, "mark: name must"),
        (
            TwilioCodec(),
            '{"event": "start", "start": {"callSid": "C", "streamSid": "S", "mediaFormat":'
            ' {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 2}}}',
            CloseCode.UNSUPPORTED,
            "only mono",
        ),
        (
            ExotelCodec(),
            '{"event": "start", "start": {"call_sid": "C", "stream_sid": "S",'
            ' "media_format": {"sample_rate": "16000"}}}',
            CloseCode.UNSUPPORTED,
            "16000 Hz",
        ),
        (
            PlivoCodec(),
            '{"event": "start", "start": {"callId": "C", "streamId": "S",'
            ' "mediaFormat": {"encoding": "audio/x-l16", "sampleRate": 16000}}}',
            CloseCode.UNSUPPORTED,
            "16000 Hz",
        ),
        (
            TelnyxCodec(),
            '{"event": "start", "stream_id": "S", "start": {"call_control_id": "C",'
            ' "media_format": {"encoding": "PCMA", "sample_rate": 8000}}}',
            CloseCode.UNSUPPORTED,
            "'PCMA' is not PCMU or L16",
        ),
        (PlivoCodec(), '{"event": "connected"}', CloseCode.INVALID, "unknown event 'connected'"),
    ],
)
def test_frames_a_carrier_never_sends_are_refused_with_a_close_code(
    codec: CarrierCodec, text: str, code: CloseCode, reason: str
) -> None:
    with pytest.raises(FrameError) as error:
        codec.decode(text)
    assert error.value.code is code
    assert reason in error.value.reason


@given(
    st.sampled_from(sorted(CODECS)),
    st.sampled_from(list(Encoding)),
    st.binary(max_size=4000).map(lambda data: data[: len(data) - len(data) % 2]),
)
def test_outbound_audio_comes_back_whole_from_its_frames(
    carrier: str, encoding: Encoding, pcm: bytes
) -> None:
    codec = CODECS[carrier]
    start = Start("S1", "C1", encoding)
    payload = b"".join(
        base64.b64decode(json.loads(text)["media"]["payload"]) for text in chunks(codec, start, pcm)
    )
    heard = to_pcm(encoding, payload)
    expected = quantize(pcm) if encoding is Encoding.MULAW else pcm
    assert heard[: len(expected)] == expected
    # Only Exotel pads, and with silence.
    assert set(heard[len(expected) :]) <= {0}


def test_close_reasons_fit_a_close_frame() -> None:
    reason = close_reason("é" * 100)
    assert len(reason.encode()) <= 123
    assert reason == "é" * 61
