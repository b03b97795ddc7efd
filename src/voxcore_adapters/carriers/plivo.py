"""Plivo Audio Streams (bidirectional `<Stream>`): camelCase JSON, μ-law or L16 at 8 kHz.

In: `start` (callId, streamId, mediaFormat; `extra_headers` carries the stream's parameters as
`key=value` pairs), `media`, `dtmf`, `playedStream` (a checkpoint was played), `clearedAudio`.
Plivo closes the socket when the call ends; a `stop` frame is read too. Out: `playAudio`,
`checkpoint`, `clearAudio`.
"""

from __future__ import annotations

import re

from voxcore_adapters.carriers.frames import (
    CloseCode,
    Dtmf,
    Encoding,
    Frame,
    FrameError,
    Ignored,
    Mark,
    Start,
    Stop,
    check_rate,
    dumps,
    encode_payload,
    inbound_media,
    parse,
    section,
    text_field,
)

_CONTENT_TYPES = {"audio/x-mulaw": Encoding.MULAW, "audio/x-l16": Encoding.L16}
_CONTENT_TYPE = {encoding: name for name, encoding in _CONTENT_TYPES.items()}
# Plivo's docs show both separators: `a=1,b=2` (the XML attribute) and `a=1;b=2` (the frame).
_HEADER_SEPARATOR = re.compile(r"[;,]")


def extra_headers(value: object) -> dict[str, str]:
    """The `key=value` pairs of Plivo's `extra_headers` text."""
    if value is None:
        return {}
    if not isinstance(value, str):
        raise FrameError(CloseCode.INVALID, "start: extra_headers must be text")
    pairs = (item.partition("=") for item in _HEADER_SEPARATOR.split(value) if item.strip())
    return {key.strip(): item.strip() for key, _, item in pairs if key.strip()}


class PlivoCodec:
    name = "plivo"
    chunk_ms = 20
    pad_last = False

    def decode(self, text: str | bytes) -> Frame:
        event, body = parse(text)
        if event == "start":
            start = section(body, "start", event)
            media_format = section(start, "mediaFormat", event)
            content_type = media_format.get("encoding")
            encoding = _CONTENT_TYPES.get(str(content_type))
            if encoding is None:
                raise FrameError(
                    CloseCode.UNSUPPORTED, f"start: encoding {content_type!r} is not supported"
                )
            check_rate(media_format.get("sampleRate"))
            return Start(
                stream_id=text_field(start, "streamId", event),
                carrier_call_id=text_field(start, "callId", event),
                encoding=encoding,
                parameters=extra_headers(body.get("extra_headers")),
            )
        if event == "media":
            return inbound_media(section(body, "media", event), event, ("inbound",))
        if event == "dtmf":
            return Dtmf(text_field(section(body, "dtmf", event), "digit", event))
        if event == "playedStream":
            return Mark(text_field(body, "name", event))
        if event == "clearedAudio":
            return Ignored("cleared audio")
        if event == "stop":
            return Stop("the carrier stopped the stream")
        raise FrameError(CloseCode.INVALID, f"unknown event {event!r}")

    def media(self, start: Start, payload: bytes) -> str:
        return dumps(
            {
                "event": "playAudio",
                "media": {
                    "contentType": _CONTENT_TYPE[start.encoding],
                    "sampleRate": 8000,
                    "payload": encode_payload(payload),
                },
            }
        )

    def mark(self, start: Start, name: str) -> str:
        return dumps({"event": "checkpoint", "streamId": start.stream_id, "name": name})

    def clear(self, start: Start) -> str:
        return dumps({"event": "clearAudio", "streamId": start.stream_id})
