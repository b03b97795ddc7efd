"""Exotel's Voicebot applet: snake_case JSON, 16-bit little-endian PCM ("raw/slin") at 8 kHz.

In: `connected`, `start` (stream_sid, call_sid, media_format, custom_parameters), `media`,
`dtmf`, `mark`, `stop`. Out: `media`, `mark`, `clear`. Exotel plays outbound audio only in
chunks that are multiples of 320 bytes and at least 3.2 kB, so prompts go out in 200 ms chunks
(3,200 bytes at 8 kHz) with the last one padded with silence.
"""

from __future__ import annotations

from voxcore_adapters.carriers.frames import (
    CloseCode,
    Encoding,
    Frame,
    FrameError,
    Media,
    Start,
    Stop,
    base64_payload,
    check_rate,
    parse,
    section,
    string_map,
    text_field,
)
from voxcore_adapters.carriers.twilio_dialect import TwilioDialect


class ExotelCodec(TwilioDialect):
    name = "exotel"
    chunk_ms = 200
    pad_last = True
    stream_key = "stream_sid"

    def decode(self, text: str | bytes) -> Frame:
        event, body = parse(text)
        if event == "start":
            start = section(body, "start", event)
            media_format = start.get("media_format") or {}
            if not isinstance(media_format, dict):
                raise FrameError(CloseCode.INVALID, "start: media_format must be an object")
            check_rate(media_format.get("sample_rate", 8000))
            stream_id = start.get("stream_sid") or body.get("stream_sid")
            return Start(
                stream_id=text_field({"stream_sid": stream_id}, "stream_sid", event),
                carrier_call_id=text_field(start, "call_sid", event),
                encoding=Encoding.L16,
                parameters=string_map(start.get("custom_parameters"), "custom_parameters"),
            )
        if event == "media":
            return Media(base64_payload(section(body, "media", event), "payload", event))
        if event == "stop":
            stop = body.get("stop")
            reason = stop.get("reason") if isinstance(stop, dict) else None
            return Stop(str(reason or "the carrier stopped the stream"))
        return self.decode_common(event, body)
