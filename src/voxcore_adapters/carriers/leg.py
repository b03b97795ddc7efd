"""A call's media over a carrier's WebSocket stream: the `CallLeg` port on top of a codec.

The WebSocket itself stays with the web framework: the leg reads and writes text frames through
two callables, so it runs the same under Litestar, in a test, or in a benchmark. A send to a
peer that has gone raises `StreamClosed` from the `send` callable; the leg then counts the call
as hung up instead of failing it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import NoReturn

from voxcore_adapters.carriers.frames import (
    CarrierCodec,
    CloseCode,
    Connected,
    Dtmf,
    Frame,
    FrameError,
    Ignored,
    Mark,
    Media,
    Notice,
    Start,
    Stop,
    chunks,
    to_pcm,
)
from voxcore_domain.errors import ValidationError
from voxcore_domain.voice.call import Audio, Digit, Hangup, LegEvent, Played

log = logging.getLogger(__name__)

Receive = Callable[[], Awaitable[str | bytes | None]]
"""The next frame from the carrier; None once the socket has closed."""
Send = Callable[[str], Awaitable[None]]


class StreamClosed(Exception):
    """Raised by a `Send` when the carrier's side of the socket is gone."""


async def open_stream(
    codec: CarrierCodec,
    receive: Receive,
    timeout_s: float,
    parameters: Mapping[str, str] | None = None,
) -> Start:
    """Read the stream's opening frames up to its `start`. `parameters` (the socket URL's query)
    are merged under the start's own custom parameters, which win.

    `FrameError` if the first frames are not an opening, or none comes within `timeout_s`.
    """
    while True:
        try:
            async with asyncio.timeout(timeout_s):
                text = await receive()
        except TimeoutError:
            raise FrameError(CloseCode.POLICY, f"no start frame within {timeout_s:g} s") from None
        if text is None:
            raise FrameError(CloseCode.NORMAL, "the stream closed before its start")
        frame = codec.decode(text)
        if isinstance(frame, Start):
            merged = {**(parameters or {}), **frame.parameters}
            return Start(frame.stream_id, frame.carrier_call_id, frame.encoding, merged)
        if not isinstance(frame, Connected | Ignored | Notice):
            raise FrameError(CloseCode.POLICY, f"{type(frame).__name__.lower()} before start")


class StreamLeg:
    """`CallLeg` over one started carrier stream.

    `failure` holds the `FrameError` that ended the stream, if one did: the caller closes the
    socket with its code and reason. A silent stream (carriers send audio continuously, silence
    included) fails after `idle_timeout_s`.
    """

    def __init__(
        self,
        codec: CarrierCodec,
        start: Start,
        receive: Receive,
        send: Send,
        idle_timeout_s: float,
    ) -> None:
        self._codec = codec
        self._start = start
        self._receive = receive
        self._send = send
        self._idle_timeout_s = idle_timeout_s
        self._ended: str | None = None
        self.failure: FrameError | None = None

    @property
    def start(self) -> Start:
        return self._start

    @property
    def ended(self) -> bool:
        return self._ended is not None

    async def receive(self) -> LegEvent:
        while self._ended is None:
            try:
                async with asyncio.timeout(self._idle_timeout_s):
                    text = await self._receive()
            except TimeoutError:
                self._fail(
                    FrameError(CloseCode.INTERNAL, f"no media for {self._idle_timeout_s:g} s")
                )
            if text is None:
                self._ended = "the carrier closed the stream"
                break
            try:
                event = self._event(self._codec.decode(text))
            except FrameError as error:
                self._fail(error)
            if event is not None:
                return event
        return Hangup(self._ended)

    def _event(self, frame: Frame) -> LegEvent | None:
        if isinstance(frame, Media):
            return Audio(to_pcm(self._start.encoding, frame.payload))
        if isinstance(frame, Dtmf):
            try:
                return Digit(frame.digit)
            except ValidationError as error:
                raise FrameError(CloseCode.INVALID, f"dtmf: {error.message}") from None
        if isinstance(frame, Mark):
            return Played(frame.name)
        if isinstance(frame, Stop):
            self._ended = frame.reason
            return Hangup(frame.reason)
        if isinstance(frame, Start):
            raise FrameError(CloseCode.POLICY, "a second start on one stream")
        if isinstance(frame, Notice):
            log.warning(
                "%s reports a problem on stream %s: %s",
                self._codec.name,
                self._start.stream_id,
                frame.detail,
            )
        return None

    def _fail(self, error: FrameError) -> NoReturn:
        # Raised to the pipeline, which ends the call as failed; the socket's owner closes it
        # with the error's code.
        self.failure = error
        self._ended = error.reason
        raise error

    async def play(self, pcm: bytes, mark: str) -> None:
        for frame in chunks(self._codec, self._start, pcm):
            if not await self._deliver(frame):
                return
        await self._deliver(self._codec.mark(self._start, mark))

    async def clear(self) -> None:
        await self._deliver(self._codec.clear(self._start))

    async def hang_up(self) -> None:
        if self._ended is None:
            self._ended = "the agent hung up"

    async def _deliver(self, frame: str) -> bool:
        if self._ended is not None:
            return False
        try:
            await self._send(frame)
        except StreamClosed:
            self._ended = "the carrier closed the stream"
            return False
        return True
