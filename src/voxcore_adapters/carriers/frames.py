"""What a carrier's media stream says, whatever its dialect, and the errors a bad frame raises.

Every carrier sends JSON text frames with an `event` name; each codec module turns its carrier's
frames into these values and back. A frame that cannot be read raises `FrameError` with the
WebSocket close code to end the stream with, so a bad frame ends one call cleanly.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from enum import IntEnum, StrEnum
from typing import Any, Protocol

import attrs

from voxcore_domain.voice import mulaw
from voxcore_domain.voice.audio import SAMPLE_BYTES, SAMPLE_RATE


class CloseCode(IntEnum):
    """RFC 6455 close codes the fleet ends a media stream with."""

    NORMAL = 1000
    UNSUPPORTED = 1003
    """A media format the worker does not speak (sample rate, codec)."""
    INVALID = 1007
    """A frame that is not what its carrier sends: bad JSON, a missing field, bad base64."""
    POLICY = 1008
    """Frames out of order, an unknown carrier, or a call the worker cannot identify."""
    INTERNAL = 1011
    """The call failed on our side, or the carrier went silent."""
    TRY_AGAIN = 1013
    """The worker is busy with another call or draining: connect to another one."""


MAX_REASON_BYTES = 123
"""RFC 6455: a close frame's reason fits in 123 bytes of UTF-8."""


def close_reason(text: str) -> str:
    """`text` cut to fit a close frame, on a character boundary."""
    return text.encode()[:MAX_REASON_BYTES].decode(errors="ignore")


class FrameError(Exception):
    """A frame the worker cannot accept; the stream ends with `code` and `reason`."""

    def __init__(self, code: CloseCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = close_reason(reason)


class Encoding(StrEnum):
    MULAW = "mulaw"
    """G.711 μ-law, one byte per sample (Twilio, Plivo, Telnyx)."""
    L16 = "l16"
    """Signed 16-bit little-endian PCM (Exotel; Plivo and Telnyx on request)."""


def to_pcm(encoding: Encoding, payload: bytes) -> bytes:
    return mulaw.decode(payload) if encoding is Encoding.MULAW else payload


def from_pcm(encoding: Encoding, pcm: bytes) -> bytes:
    return mulaw.encode(pcm) if encoding is Encoding.MULAW else pcm


# -- frames ---------------------------------------------------------------------------------------


@attrs.frozen
class Connected:
    """The carrier opened the stream (Twilio, Exotel, Telnyx); `start` follows."""


@attrs.frozen
class Start:
    """The stream's metadata: sent once, before any audio."""

    stream_id: str
    """Names the stream in every frame we send back."""
    carrier_call_id: str
    """The carrier's id of the call (Twilio's callSid), for its logs and support tickets."""
    encoding: Encoding
    parameters: Mapping[str, str] = attrs.field(factory=dict)
    """Custom parameters the call was set up with: ours carry the call's identity."""


@attrs.frozen
class Media:
    """Caller audio, still in the stream's encoding."""

    payload: bytes


@attrs.frozen
class Dtmf:
    digit: str


@attrs.frozen
class Mark:
    """The carrier played everything we sent before the mark `name`."""

    name: str


@attrs.frozen
class Stop:
    """The carrier ended the stream (the call hung up or moved on)."""

    reason: str


@attrs.frozen
class Ignored:
    """A frame that needs no action: our own audio echoed back, a cleared-audio receipt."""

    what: str


@attrs.frozen
class Notice:
    """The carrier reports a problem with something we sent; the call goes on."""

    detail: str


Frame = Connected | Start | Media | Dtmf | Mark | Stop | Ignored | Notice


class CarrierCodec(Protocol):
    """One carrier's dialect of the media-stream protocol."""

    name: str
    chunk_ms: int
    """How much audio each outbound media frame carries."""
    pad_last: bool
    """Whether the last chunk is padded with silence to a whole chunk (Exotel plays only
    chunks of its fixed sizes)."""

    def decode(self, text: str | bytes) -> Frame:
        """The frame `text` holds; `FrameError` if it is not one this carrier sends."""
        ...

    def media(self, start: Start, payload: bytes) -> str:
        """A frame that plays `payload` (already in the stream's encoding)."""
        ...

    def mark(self, start: Start, name: str) -> str: ...

    def clear(self, start: Start) -> str: ...


def chunks(codec: CarrierCodec, start: Start, pcm: bytes) -> Iterator[str]:
    """The media frames that play `pcm`, each `codec.chunk_ms` long (the last one shorter,
    unless the codec pads it), each encoded when it is asked for: a prompt's first frame can
    leave before the rest of it is encoded."""
    step = SAMPLE_RATE * codec.chunk_ms // 1000 * SAMPLE_BYTES
    if codec.pad_last and len(pcm) % step:
        pcm += bytes(step - len(pcm) % step)
    for at in range(0, len(pcm), step):
        yield codec.media(start, from_pcm(start.encoding, pcm[at : at + step]))


# -- reading JSON frames --------------------------------------------------------------------------


def parse(text: str | bytes) -> tuple[str, dict[str, Any]]:
    """The event name and the body of a JSON frame."""
    if isinstance(text, bytes):
        raise FrameError(CloseCode.UNSUPPORTED, "binary frames are not part of this protocol")
    try:
        body = json.loads(text)
    except ValueError:
        raise FrameError(CloseCode.INVALID, "a frame is not JSON") from None
    if not isinstance(body, dict):
        raise FrameError(CloseCode.INVALID, "a frame is not a JSON object")
    event = body.get("event")
    if not isinstance(event, str) or not event:
        raise FrameError(CloseCode.INVALID, "a frame has no event name")
    return event, body


def section(body: Mapping[str, Any], key: str, event: str) -> dict[str, Any]:
    """The object `body[key]`; `FrameError` naming it if it is missing or not an object."""
    value = body.get(key)
    if not isinstance(value, dict):
        raise FrameError(CloseCode.INVALID, f"{event}: {key} must be an object")
    return value


def text_field(body: Mapping[str, Any], key: str, event: str) -> str:
    """The non-empty text `body[key]` (numbers are accepted as text, as carriers mix them)."""
    value = body.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise FrameError(CloseCode.INVALID, f"{event}: {key} must be non-empty text")
    return value


def base64_payload(body: Mapping[str, Any], key: str, event: str) -> bytes:
    value = body.get(key)
    if not isinstance(value, str):
        raise FrameError(CloseCode.INVALID, f"{event}: {key} must be base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise FrameError(CloseCode.INVALID, f"{event}: {key} is not valid base64") from None


def encode_payload(payload: bytes) -> str:
    return base64.b64encode(payload).decode("ascii")


def string_map(value: object, what: str) -> dict[str, str]:
    """A flat object of parameters, every value as text."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FrameError(CloseCode.INVALID, f"start: {what} must be an object")
    return {str(key): str(item) for key, item in value.items() if item is not None}


def check_rate(rate: object, event: str = "start") -> None:
    """Only 8 kHz streams: the pipeline, the recording and μ-law all run at telephone rate."""
    try:
        value = int(str(rate))
    except ValueError:
        raise FrameError(
            CloseCode.INVALID, f"{event}: sample rate {rate!r} is not a number"
        ) from None
    if value != SAMPLE_RATE:
        raise FrameError(
            CloseCode.UNSUPPORTED, f"{event}: {value} Hz audio is not supported, only 8000 Hz"
        )


def check_mono(media_format: Mapping[str, Any], event: str = "start") -> None:
    """Only single-channel streams: the caller's leg is one voice."""
    if media_format.get("channels", 1) != 1:
        raise FrameError(CloseCode.UNSUPPORTED, f"{event}: only mono audio is supported")


def dumps(body: Mapping[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"))


def inbound_media(media: Mapping[str, Any], event: str, tracks: tuple[str, ...]) -> Frame:
    """The caller's audio in a `media` object; a frame of another track (our own audio, which
    some carriers stream back) is ignored. A frame naming no track is the caller's."""
    if media.get("track", "inbound") not in tracks:
        return Ignored("outbound track")
    return Media(base64_payload(media, "payload", event))
