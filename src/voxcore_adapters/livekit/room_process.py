"""The media of one LiveKit room call, in a process of its own: `python -m
voxcore_adapters.livekit.room_process`, started by the fleet worker for each room call
(`voxcore_adapters.livekit.room_child`).

The LiveKit RTC SDK (`livekit.rtc`, numpy under it, its native WebRTC runtime) cannot be
unloaded once imported: a worker that joined one room in-process would keep ~45 MB more for
good (docs/fleet.md, "Memory after a LiveKit call"). Here it lives and dies with the call.

The child reads messages on its stdin and writes them on its stdout, framed as
`voxcore_adapters.livekit.room_frames` describes:

1. The worker sends `Join` (the room's URL and the agent's token: the token is never on the
   command line). The child joins the room with `room_leg.join_room` (subscribes to the
   caller, publishes the agent's voice, waits for the caller) and answers `Joined` or
   `JoinFailed`, then exits after a failure.
2. Joined, it relays: the caller's audio, keys and hang-up and the agent's played marks go to
   the worker as the leg's events; the worker's `Play` and `Clear` go to the room.
3. At `Leave`, or at the end of its stdin (the worker is gone, whatever killed it), it leaves
   the room and exits. The worker ends it with SIGTERM, then SIGKILL, if it does not.

Anything the native runtime prints lands on stderr: the frames have stdout to themselves.

**Not tested here:** the real WebRTC join (`room_leg.join_room`) needs a LiveKit server, which
cannot run on this machine; the tests run this module's main against the LiveKit Twirp double,
where that join fails cleanly. Everything else (framing, the relay, the worker's side, the
child's exits) is tested with a room double in place of the join: the test-only seam is the
`VOX_ROOM_PROCESS_TEST_JOIN` environment variable (`module:function` of a joiner with
`join_room`'s signature, e.g. `voxcore_adapters.testing.room_double:join`), which production
never sets.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import sys
from typing import Protocol, cast

from voxcore_adapters.livekit.joining import RoomJoinFailed
from voxcore_adapters.livekit.room_frames import (
    Clear,
    FrameError,
    FromChild,
    Join,
    Joined,
    JoinFailed,
    Leave,
    Message,
    Play,
    encode,
    read_message,
)
from voxcore_domain.ports import CallLeg
from voxcore_domain.voice.call import Hangup

log = logging.getLogger(__name__)

TEST_JOIN = "VOX_ROOM_PROCESS_TEST_JOIN"
"""Test-only: `module:function` of the joiner to use instead of `room_leg.join_room`."""


class JoinedLeg(CallLeg, Protocol):
    """What the relay needs of a joined room (`room_leg.RoomLeg`)."""

    @property
    def caller(self) -> str | None: ...

    async def close(self) -> None:
        """Stop speaking and leave the room."""
        ...


class Joiner(Protocol):
    """`room_leg.join_room`, as the child calls it."""

    async def __call__(
        self,
        url: str,
        token: str,
        *,
        caller: str | None,
        caller_wait_s: float,
        connect_timeout_s: float = 10.0,
    ) -> JoinedLeg: ...


async def send(writer: asyncio.StreamWriter, message: FromChild) -> None:
    writer.write(encode(message))
    await writer.drain()


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, join: Joiner) -> None:
    """One room call: the worker's `Join`, the join, then the relay until `Leave` or the end of
    `reader`. A `Leave` or the end of `reader` during the join abandons it."""
    request = await read_message(reader)
    if request is None:
        return
    if not isinstance(request, Join):
        raise FrameError(f"expected a join, got {type(request).__name__}")
    joining = asyncio.create_task(
        join(
            request.url,
            request.token,
            caller=request.caller,
            caller_wait_s=request.caller_wait_s,
            connect_timeout_s=request.connect_timeout_s,
        )
    )
    listening = asyncio.create_task(read_message(reader))
    await asyncio.wait({joining, listening}, return_when=asyncio.FIRST_COMPLETED)
    if not joining.done():
        # The worker left or died while the room was being joined: `join_room` leaves the room
        # it may have entered when cancelled.
        joining.cancel()
        await asyncio.wait({joining})
        if not joining.cancelled():
            error = joining.exception()
            if error is None:
                await joining.result().close()
            elif not isinstance(error, RoomJoinFailed):
                log.warning("the abandoned join failed: %r", error)
        _only_leave(listening.result())
        return
    try:
        leg = joining.result()
    except RoomJoinFailed as error:
        listening.cancel()
        await send(writer, JoinFailed(str(error)))
        return
    except Exception as error:
        listening.cancel()
        log.error("joining the room failed", exc_info=error)
        await send(writer, JoinFailed(f"the room process failed to join: {type(error).__name__}"))
        return
    try:
        await send(writer, Joined(leg.caller or ""))
        await relay(leg, reader, writer, listening)
    finally:
        await leg.close()


def _only_leave(message: object) -> None:
    if message is not None and not isinstance(message, Leave):
        raise FrameError(f"expected nothing but a leave before joining, got {message!r}")


async def relay(
    leg: JoinedLeg,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    listening: asyncio.Task[Message | None] | None = None,
) -> None:
    """Carry `leg`'s events to `writer` and `reader`'s commands to `leg`, until `Leave` or the
    end of `reader`. `listening` is a read of `reader` already under way."""
    events = asyncio.create_task(_forward(leg, writer))
    commands = asyncio.create_task(_obey(leg, reader, listening))
    try:
        while not commands.done():
            await asyncio.wait({events, commands}, return_when=asyncio.FIRST_COMPLETED)
            if events.done() and events.exception() is not None:
                break
        for task in (commands, events):
            if task.done():
                task.result()
    finally:
        for task in (events, commands):
            task.cancel()
        await asyncio.wait({events, commands})


async def _forward(leg: JoinedLeg, writer: asyncio.StreamWriter) -> None:
    while True:
        event = await leg.receive()
        await send(writer, event)
        if isinstance(event, Hangup):
            return


async def _obey(
    leg: JoinedLeg,
    reader: asyncio.StreamReader,
    listening: asyncio.Task[Message | None] | None,
) -> None:
    while True:
        if listening is not None:
            message, listening = await listening, None
        else:
            message = await read_message(reader)
        match message:
            case Play(pcm=pcm, mark=mark):
                await leg.play(pcm, mark)
            case Clear():
                await leg.clear()
            case Leave() | None:
                return
            case _:
                raise FrameError(f"a worker does not send {type(message).__name__}")


def joiner(environ: dict[str, str] | os._Environ[str] = os.environ) -> Joiner:
    """`room_leg.join_room`, or the test's joiner named in `VOX_ROOM_PROCESS_TEST_JOIN`."""
    path = environ.get(TEST_JOIN)
    if path:
        module, _, name = path.partition(":")
        return cast(Joiner, getattr(importlib.import_module(module), name))
    from voxcore_adapters.livekit.room_leg import join_room

    return join_room


async def _run(frames: int) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(frames, "wb")
    )
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    try:
        await serve(reader, writer, joiner())
    finally:
        writer.close()


def main() -> int:
    """Serve one room call on stdin/stdout; 0 once it is over, 1 if it broke."""
    frames = os.dup(1)
    os.dup2(2, 1)
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format=f"room process {os.getpid()}: %(levelname)s %(name)s: %(message)s",
    )
    try:
        asyncio.run(_run(frames))
    except (FrameError, BrokenPipeError, ConnectionResetError) as error:
        log.error("the worker's pipe broke: %s", error)
        return 1
    except Exception:
        log.exception("the room process failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
