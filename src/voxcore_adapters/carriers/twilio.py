"""Twilio Media Streams (bidirectional, `<Connect><Stream>`): camelCase JSON, μ-law 8 kHz.

In: `connected`, `start` (streamSid, callSid, mediaFormat, customParameters), `media` (base64
payload per 20 ms, with track, chunk, timestamp), `dtmf`, `mark` (our mark, played), `stop`.
Out: `media`, `mark`, `clear`. On `clear` Twilio drops its buffered audio and sends back the
marks that were waiting behind it.
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

MULAW = "audio/x-mulaw"


class TwilioCodec:
    name = "twilio"
    chunk_ms = 20
    pad_last = False

    def decode(self, text: str | bytes) -> Frame:
        event, body = parse(text)
        if event == "connected":
            return Connected()
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
            media = section(body, "media", event)
            # With `track="both_tracks"` Twilio also streams our own audio back: not the caller.
            if media.get("track", "inbound") not in ("inbound", "inbound_track"):
                return Ignored("outbound track")
            return Media(base64_payload(media, "payload", event))
        if event == "dtmf":
            return Dtmf(text_field(section(body, "dtmf", event), "digit", event))
        if event == "mark":
            return Mark(text_field(section(body, "mark", event), "name", event))
        if event == "stop":
            return Stop("the carrier stopped the stream")
        raise FrameError(CloseCode.INVALID, f"unknown event {event!r}")

    def media(self, start: Start, payload: bytes) -> str:
        return dumps(
            {
                "event": "media",
                "streamSid": start.stream_id,
                "media": {"payload": encode_payload(payload)},
            }
        )

    def mark(self, start: Start, name: str) -> str:
        return dumps({"event": "mark", "streamSid": start.stream_id, "mark": {"name": name}})

    def clear(self, start: Start) -> str:
        return dumps({"event": "clear", "streamSid": start.stream_id})
