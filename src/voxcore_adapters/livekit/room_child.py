"""A room call's media from the worker's side: the room process (`room_process`) started for
the call, and the `CallLeg` that talks to it over its stdin and stdout (`room_frames`).

`join_in_child` has `join_room`'s signature and effect (joined, the caller there, or
`RoomJoinFailed`), so the call's setup and pipeline do not know the room is in another process.
The worker itself never imports the RTC SDK: its memory after a room call is what it was
before (`make bench-fleet`).

The child is started with the worker's own interpreter, not forked from the worker (which
would copy its state and threads), and with the worker's environment less its `VOX_*`
settings (the child needs none of the worker's secrets); `VOX_ROOM_PROCESS_*` is kept (the
tests' seam, see `room_process`). The agent's token goes to it in the `Join` message.

The child dies with the call: `close` (and `hang_up`) send `Leave`, wait `leave_grace_s` for it
to leave the room and exit, then SIGTERM, then after `term_grace_s` SIGKILL. If the worker dies
first, the child sees the end of its stdin and leaves by itself. If the child dies during the
call, the leg ends (`Hangup`) and, since nobody is left to talk to the caller, ends the room.

Starting the child (an interpreter, the RTC SDK's import: about a second on the test machine,
`make bench-fleet`) is part of joining the room, inside the room call's setup; carrier streams
never start one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Mapping

from voxcore_adapters.livekit.joining import CallerControls, EndCall, RoomJoinFailed, Transfer
from voxcore_adapters.livekit.room_frames import (
    Clear,
    FrameError,
    Join,
    Joined,
    JoinFailed,
    Leave,
    Play,
    ToChild,
    encode,
    read_message,
)
from voxcore_domain.voice.call import Audio, Digit, Hangup, Played

log = logging.getLogger(__name__)

ROOM_PROCESS = "voxcore_adapters.livekit.room_process"
START_ALLOWANCE_S = 15.0
"""How long the child may take to start (the interpreter, the RTC SDK's import) on top of the
join's own connect timeout and caller wait, before the join is given up."""
LEAVE_GRACE_S = 5.0
"""How long a child asked to leave has to leave the room and exit before SIGTERM."""
TERM_GRACE_S = 2.0
"""How long a child has after SIGTERM before SIGKILL."""
KEPT = "VOX_ROOM_PROCESS_"


def child_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The child's environment: the worker's, without its `VOX_` settings (tokens, keys)."""
    return {
        name: value
        for name, value in environ.items()
        if not name.startswith("VOX_") or name.startswith(KEPT)
    }


async def end_process(
    process: asyncio.subprocess.Process, leave_grace_s: float, term_grace_s: float
) -> int:
    """Ask the child to leave (if its stdin is still open), then SIGTERM, then SIGKILL, each
    after its grace; its exit code."""
    stdin = process.stdin
    if stdin is not None and not stdin.is_closing():
        try:
            stdin.write(encode(Leave()))
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            # It is gone already: the wait below collects it.
            pass
        stdin.close()
    for grace, stop in ((leave_grace_s, process.terminate), (term_grace_s, process.kill)):
        try:
            async with asyncio.timeout(grace):
                return await process.wait()
        except TimeoutError:
            log.warning("room process %d did not exit in %g s: stopping it", process.pid, grace)
            try:
                stop()
            except ProcessLookupError:
                break
    return await process.wait()


class ChildRoomLeg(CallerControls):
    """`CallLeg` (transferring) for a caller in a room joined by a room process."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        caller: str,
        *,
        end_call: EndCall | None = None,
        transfer: Transfer | None = None,
        leave_grace_s: float = LEAVE_GRACE_S,
        term_grace_s: float = TERM_GRACE_S,
    ) -> None:
        assert process.stdin is not None
        assert process.stdout is not None
        super().__init__(end_call=end_call, transfer=transfer)
        self._process = process
        self._stdin = process.stdin
        self._caller = caller
        self._grace = (leave_grace_s, term_grace_s)
        self._leaving: asyncio.Task[int] | None = None
        self._listener = asyncio.get_running_loop().create_task(self._listen(process.stdout))

    @property
    def caller(self) -> str:
        return self._caller

    @property
    def pid(self) -> int:
        """The room process's."""
        return self._process.pid

    # -- CallLeg ----------------------------------------------------------------------------------

    async def play(self, pcm: bytes, mark: str) -> None:
        if self._ended is None:
            await self._send(Play(pcm, mark))

    async def clear(self) -> None:
        if self._ended is None:
            await self._send(Clear())

    # -- the room process -------------------------------------------------------------------------

    async def _send(self, message: ToChild) -> None:
        try:
            self._stdin.write(encode(message))
            await self._stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            # The child died: `_listen` sees its stdout end and ends the call.
            return

    async def _listen(self, stdout: asyncio.StreamReader) -> None:
        try:
            while True:
                message = await read_message(stdout)
                match message:
                    case Audio() | Digit() | Played():
                        if self._ended is None:
                            self._events.put_nowait(message)
                    case Hangup(reason=reason):
                        self._end(reason)
                    case None:
                        break
                    case _:
                        raise FrameError(f"{type(message).__name__} in the middle of a call")
        except FrameError as error:
            log.error("room process %d sent a bad frame: %s", self._process.pid, error)
        if self._leaving is not None:
            return
        # The child ended without being asked: nobody is left in the room to talk to the
        # caller, so the call ends for them too.
        self._leaving = asyncio.get_running_loop().create_task(
            end_process(self._process, *self._grace)
        )
        code = await self._leaving
        self._end(f"the room process ended unexpectedly (exit code {code})")
        await self._end_room()

    async def _leave(self) -> None:
        """The room process leaves the room and ends (`end_process`)."""
        if self._leaving is None:
            self._leaving = asyncio.get_running_loop().create_task(
                end_process(self._process, *self._grace)
            )
        await self._leaving
        if self._listener is not asyncio.current_task():
            await self._listener


async def join_in_child(
    url: str,
    token: str,
    *,
    caller: str | None,
    caller_wait_s: float,
    connect_timeout_s: float = 10.0,
    end_call: EndCall | None = None,
    transfer: Transfer | None = None,
    start_allowance_s: float = START_ALLOWANCE_S,
    leave_grace_s: float = LEAVE_GRACE_S,
    term_grace_s: float = TERM_GRACE_S,
) -> ChildRoomLeg:
    """`join_room` in a room process of its own: joined, with the caller in the room, or
    `RoomJoinFailed` with the child ended."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        ROOM_PROCESS,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=child_environment(os.environ),
    )
    assert process.stdin is not None
    assert process.stdout is not None
    request = Join(url, token, caller, caller_wait_s, connect_timeout_s)
    try:
        process.stdin.write(encode(request))
        await process.stdin.drain()
        async with asyncio.timeout(start_allowance_s + connect_timeout_s + caller_wait_s):
            answer = await read_message(process.stdout)
    except BaseException as error:
        code = await end_process(process, leave_grace_s, term_grace_s)
        if isinstance(error, TimeoutError):
            raise RoomJoinFailed("the room process did not join the room in time") from None
        if isinstance(error, FrameError | BrokenPipeError | ConnectionResetError):
            raise RoomJoinFailed(
                f"the room process failed to join (exit code {code}): {error}"
            ) from None
        raise
    match answer:
        case Joined(caller=joined):
            return ChildRoomLeg(
                process,
                joined,
                end_call=end_call,
                transfer=transfer,
                leave_grace_s=leave_grace_s,
                term_grace_s=term_grace_s,
            )
        case JoinFailed(reason=reason):
            await end_process(process, leave_grace_s, term_grace_s)
            raise RoomJoinFailed(reason)
        case None:
            code = await end_process(process, leave_grace_s, term_grace_s)
            raise RoomJoinFailed(f"the room process exited before joining (exit code {code})")
    await end_process(process, leave_grace_s, term_grace_s)
    raise RoomJoinFailed(f"the room process answered {type(answer).__name__} to its join")
