"""Telnyx media streaming (bidirectional RTP mode): snake_case JSON, PCMU or L16 at 8 kHz.

In: `connected`, `start` (stream_id, call_control_id, media_format, custom_parameters), `media`,
`dtmf`, `mark`, `stop`, and `error` when Telnyx refuses a frame we sent. Out: `media`, `mark`,
`clear`; Telnyx frames carry the stream id at the top level only.
"""

from __future__ import annotations

from voxcore_adapters.carriers.frames import (
    CloseCode,
    Encoding,
    Frame,
    FrameError,
    Notice,
    Start,
    check_mono,
    check_rate,
    inbound_media,
    parse,
    section,
    string_map,
    text_field,
)
from voxcore_adapters.carriers.twilio_dialect import TwilioDialect

_ENCODINGS = {"PCMU": Encoding.MULAW, "L16": Encoding.L16}


class TelnyxCodec(TwilioDialect):
    name = "telnyx"
    chunk_ms = 20
    pad_last = False
    stream_key = None

    def decode(self, text: str | bytes) -> Frame:
        event, body = parse(text)
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
            return inbound_media(section(body, "media", event), event, ("inbound",))
        if event == "error":
            payload = body.get("payload")
            detail = payload.get("detail") if isinstance(payload, dict) else None
            return Notice(str(detail or body))
        return self.decode_common(event, body)
