"""Telnyx media streaming (bidirectional RTP mode): snake_case JSON, PCMU or L16 at 8 kHz.

In: `connected`, `start` (stream_id, call_control_id, media_format, custom_parameters), `media`,
`dtmf`, `mark`, `stop`, and `error` when Telnyx refuses a frame we sent. Out: `media`, `mark`,
`clear`; Telnyx frames carry the stream id at the top level only.
"""

from __future__ import annotations

from voxcore_adapters.carriers.frames import (
    CloseCode,
    Connected,
    Dtmf,
    Encoding,
    Frame,
    FrameError,
    Ignored,
    Mark,
    Media,
    Notice,
    Start,
    Stop,
    base64_payload,
    check_mono,
    check_rate,
    dumps,
    encode_payload,
    parse,
    section,
    string_map,
    text_field,
)

_ENCODINGS = {"PCMU": Encoding.MULAW, "L16": Encoding.L16}


class TelnyxCodec:
    name = "telnyx"
    chunk_ms = 20
    pad_last = False

    def decode(self, text: str | bytes) -> Frame:
        event, body = parse(text)
        if event == "connected":
            return Connected()
        if event == "start":
            start = section(body, "start", event)
            media_format = section(start, "media_format", event)
            name = media_format.get("encoding")
            encoding = _ENCODINGS.get(str(name))
            if encoding is None:
                raise FrameError(
                    CloseCode.UNSUPPORTED, f"start: encoding {name!r} is not PCMU or L16"
                )
            check_rate(media_format.get("sample_rate"))
            check_mono(media_format)
            return Start(
                stream_id=text_field(body, "stream_id", event),
                carrier_call_id=text_field(start, "call_control_id", event),
                encoding=encoding,
                parameters=string_map(start.get("custom_parameters"), "custom_parameters"),
            )
        if event == "media":
            media = section(body, "media", event)
            if media.get("track", "inbound") != "inbound":
                return Ignored("outbound track")
            return Media(base64_payload(media, "payload", event))
        if event == "dtmf":
            return Dtmf(text_field(section(body, "dtmf", event), "digit", event))
        if event == "mark":
            return Mark(text_field(section(body, "mark", event), "name", event))
        if event == "stop":
            return Stop("the carrier stopped the stream")
        if event == "error":
            payload = body.get("payload")
            detail = payload.get("detail") if isinstance(payload, dict) else None
            return Notice(str(detail or body))
        raise FrameError(CloseCode.INVALID, f"unknown event {event!r}")

    def media(self, start: Start, payload: bytes) -> str:
        return dumps({"event": "media", "media": {"payload": encode_payload(payload)}})

    def mark(self, start: Start, name: str) -> str:
        return dumps({"event": "mark", "mark": {"name": name}})

    def clear(self, start: Start) -> str:
        return dumps({"event": "clear"})
