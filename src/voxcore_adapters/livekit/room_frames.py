"""The messages between a fleet worker and its room process (`room_process`), and their framing
on the pipes between them (the child's stdin and stdout).

Each message is one frame: a 4-byte big-endian length `n`, then `n` bytes: a 1-byte kind, then
the kind's payload.

| kind | direction | message | payload |
|---|---|---|---|
| `J` | worker → child | `Join` | JSON: url, token, caller, caller_wait_s, connect_timeout_s |
| `P` | worker → child | `Play` | 2-byte big-endian mark length, the mark (UTF-8), the PCM |
| `C` | worker → child | `Clear` | none |
| `L` | worker → child | `Leave` | none: leave the room and exit |
| `j` | child → worker | `Joined` | the caller's identity (UTF-8) |
| `f` | child → worker | `JoinFailed` | why (UTF-8) |
| `a` | child → worker | `Audio` | the caller's PCM |
| `d` | child → worker | `Digit` | the key (UTF-8) |
| `p` | child → worker | `Played` | the mark (UTF-8) |
| `h` | child → worker | `Hangup` | why (UTF-8) |

PCM is the platform's (8 kHz mono 16-bit little-endian, `voxcore_domain.voice.audio`): the
child converts to and from the room's audio. `Audio`, `Digit`, `Played` and `Hangup` are the
call's own leg events (`voxcore_domain.voice.call`). The join's token travels only in `Join`,
on the pipe: never on the child's command line (`ps` shows it) and never in a log.
"""

from __future__ import annotations

import asyncio
import json
import struct

import attrs

from voxcore_domain.errors import DomainError, ValidationError
from voxcore_domain.voice.call import Audio, Digit, Hangup, LegEvent, Played

HEADER = struct.Struct("!I")
MARK_LENGTH = struct.Struct("!H")
MAX_FRAME = 64 * 1024 * 1024
"""The longest frame either side sends or accepts: over half an hour of 8 kHz PCM in one
prompt. A longer length is a broken stream, not a message."""


class FrameError(DomainError):
    """Bytes on the pipe that are not a message (a bad kind, length or payload)."""


@attrs.frozen
class Join:
    """Join the room `token` grants on server `url` and wait for the caller."""

    url: str
    """The server's URL (`https://`, `wss://`, …)."""
    token: str = attrs.field(repr=False)
    """The agent's join token: a secret, kept out of `repr` and logs."""
    caller: str | None
    """The caller's identity; None takes the first participant who joins."""
    caller_wait_s: float
    """How long to wait for the caller once in the room."""
    connect_timeout_s: float
    """How long to wait for the server to let the agent in."""


@attrs.frozen
class Play:
    """Speak `pcm` in the room, then report `Played(mark)` once it has played."""

    pcm: bytes
    """The agent's voice."""
    mark: str
    """Comes back in `Played` once everything before it has played."""


@attrs.frozen
class Clear:
    """Drop the agent's voice not yet played (barge-in)."""


@attrs.frozen
class Leave:
    """Leave the room and exit: the call is over."""


@attrs.frozen
class Joined:
    """The agent is in the room and so is the caller."""

    caller: str
    """The caller's identity."""


@attrs.frozen
class JoinFailed:
    """The agent could not join, or the caller never came; the child exits after this."""

    reason: str
    """Why, for the call's outcome."""


ToChild = Join | Play | Clear | Leave
FromChild = Joined | JoinFailed | LegEvent
Message = ToChild | FromChild


def encode(message: Message) -> bytes:
    """`message` as one frame; `FrameError` if it is longer than `MAX_FRAME`."""
    match message:
        case Join():
            kind, payload = b"J", json.dumps(attrs.asdict(message)).encode()
        case Play(pcm=pcm, mark=mark):
            label = mark.encode()
            if len(label) > 0xFFFF:
                raise FrameError(f"a mark of {len(label)} bytes is longer than 65535")
            kind, payload = b"P", MARK_LENGTH.pack(len(label)) + label + pcm
        case Clear():
            kind, payload = b"C", b""
        case Leave():
            kind, payload = b"L", b""
        case Joined(caller=caller):
            kind, payload = b"j", caller.encode()
        case JoinFailed(reason=reason):
            kind, payload = b"f", reason.encode()
        case Audio(pcm=pcm):
            kind, payload = b"a", pcm
        case Digit(digit=digit):
            kind, payload = b"d", digit.encode()
        case Played(mark=mark):
            kind, payload = b"p", mark.encode()
        case Hangup(reason=reason):
            kind, payload = b"h", reason.encode()
    if len(payload) + 1 > MAX_FRAME:
        raise FrameError(f"a frame of {len(payload) + 1} bytes is longer than {MAX_FRAME}")
    return HEADER.pack(len(payload) + 1) + kind + payload


def _text(payload: bytes) -> str:
    try:
        return payload.decode()
    except UnicodeDecodeError as error:
        raise FrameError(f"text that is not UTF-8: {error}") from None


def _join(payload: bytes) -> Join:
    try:
        fields = json.loads(payload)
    except ValueError as error:
        raise FrameError(f"a join that is not JSON: {error}") from None
    if not isinstance(fields, dict):
        raise FrameError("a join that is not a JSON object")
    url, token, caller = fields.get("url"), fields.get("token"), fields.get("caller")
    wait, connect = fields.get("caller_wait_s"), fields.get("connect_timeout_s")
    if not isinstance(url, str) or not isinstance(token, str):
        raise FrameError("a join without a url and a token")
    if caller is not None and not isinstance(caller, str):
        raise FrameError("a join whose caller is not a string")
    if not isinstance(wait, int | float) or not isinstance(connect, int | float):
        raise FrameError("a join without caller_wait_s and connect_timeout_s")
    return Join(url, token, caller, float(wait), float(connect))


def _play(payload: bytes) -> Play:
    if len(payload) < MARK_LENGTH.size:
        raise FrameError("a play without its mark's length")
    (length,) = MARK_LENGTH.unpack_from(payload)
    end = MARK_LENGTH.size + length
    if len(payload) < end:
        raise FrameError("a play shorter than its mark")
    return Play(payload[end:], _text(payload[MARK_LENGTH.size : end]))


def _empty(message: Clear | Leave, payload: bytes) -> Clear | Leave:
    if payload:
        raise FrameError(f"{type(message).__name__} with a payload")
    return message


def _digit(payload: bytes) -> Digit:
    try:
        return Digit(_text(payload))
    except ValidationError as error:
        raise FrameError(error.message) from None


def decode(frame: bytes) -> Message:
    """The message in one frame's body (its kind and payload, after the length)."""
    if not frame:
        raise FrameError("an empty frame")
    kind, payload = frame[:1], frame[1:]
    match kind:
        case b"J":
            return _join(payload)
        case b"P":
            return _play(payload)
        case b"C":
            return _empty(Clear(), payload)
        case b"L":
            return _empty(Leave(), payload)
        case b"j":
            return Joined(_text(payload))
        case b"f":
            return JoinFailed(_text(payload))
        case b"a":
            return Audio(payload)
        case b"d":
            return _digit(payload)
        case b"p":
            return Played(_text(payload))
        case b"h":
            return Hangup(_text(payload))
    raise FrameError(f"unknown message kind {kind!r}")


async def read_message(reader: asyncio.StreamReader) -> Message | None:
    """The next message on `reader`; None at a clean end of stream (between frames)."""
    try:
        header = await reader.readexactly(HEADER.size)
    except asyncio.IncompleteReadError as error:
        if error.partial:
            raise FrameError("the stream ended inside a frame's length") from None
        return None
    (length,) = HEADER.unpack(header)
    if not 0 < length <= MAX_FRAME:
        raise FrameError(f"a frame length of {length}")
    try:
        return decode(await reader.readexactly(length))
    except asyncio.IncompleteReadError:
        raise FrameError("the stream ended inside a frame") from None
