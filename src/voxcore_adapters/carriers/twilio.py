"""Twilio Media Streams (bidirectional, `<Connect><Stream>`): camelCase JSON, μ-law 8 kHz.

In: `connected`, `start` (streamSid, callSid, mediaFormat, customParameters), `media` (base64
payload per 20 ms, with track, chunk, timestamp), `dtmf`, `mark` (our mark, played), `stop`.
Out: `media`, `mark`, `clear`. On `clear` Twilio drops its buffered audio and sends back the
marks that were waiting behind it.
"""

from __future__ import annotations

from voxcore_adapters.carriers.frames import (
    CloseCode,
    Encoding,
    Frame,
    FrameError,
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

MULAW = "audio/x-mulaw"


class TwilioCodec(TwilioDialect):
    name = "twilio"
    chunk_ms = 20
    pad_last = False
    stream_key = "streamSid"

    def decode(self, text: str | bytes) -> Frame:
        event, body = parse(text)
        if event == "start":
            start = section(body, "start", event)
            media_format = section(start, "mediaFormat", event)
            encoding = media_format.get("encoding")
            if encoding != MULAW:
                raise FrameError(
                    CloseCode.UNSUPPORTED, f"start: encoding {encoding!r} is not {MULAW}"
                )
            check_rate(media_format.get("sampleRate"))
            check_mono(media_format)
            stream_id = start.get("streamSid") or body.get("streamSid")
            return Start(
                stream_id=text_field({"streamSid": stream_id}, "streamSid", event),
                carrier_call_id=text_field(start, "callSid", event),
                encoding=Encoding.MULAW,
                parameters=string_map(start.get("customParameters"), "customParameters"),
            )
        if event == "media":
            # With `track="both_tracks"` Twilio also streams our own audio back: not the caller.
            media = section(body, "media", event)
            return inbound_media(media, event, ("inbound", "inbound_track"))
        return self.decode_common(event, body)
