"""A room double for the room process (`voxcore_adapters.livekit.room_process`): its joiner in
place of the WebRTC join, which needs a LiveKit server that cannot run on this machine.

A test (or `make bench-fleet`) selects it through the environment the worker's room process
inherits:

    VOX_ROOM_PROCESS_TEST_JOIN=voxcore_adapters.testing.room_double:join
    VOX_ROOM_PROCESS_TEST_DOUBLE=<scenario>
    VOX_ROOM_PROCESS_TEST_JOURNAL=<file>     # optional: what happened, one line each

`join` hands the relay a real `RoomLeg` (the same frame conversion and events as a real room)
whose room is scripted by the scenario:

- `echo`: the caller is in the room at once, presses 5, and says back every frame the agent
  speaks, as soon as it is spoken.
- `leaves`: the caller is in the room, says `SAID` (one 20 ms frame), then leaves.
- `holds:<seconds>`: the caller is in the room, silent, and leaves after that long.
- `refuses`: the join fails as a server's refusal does (`RoomJoinFailed`).
- `crashes-joining`, `crashes-talking`: the process dies (exit code 3, 4) while joining, or at
  the agent's first spoken frame.
- `stalls`: the join never completes.
- `stubborn`: joins, then ignores SIGTERM and never finishes leaving the room.

The journal gets `pid <pid>`, `joining <url> <sha256 of the token>`, `clear`, `leaving`.
"""

from __future__ import annotations

import array
import asyncio
import hashlib
import os
import signal

from livekit import rtc

from voxcore_adapters.livekit.joining import RoomJoinFailed
from voxcore_adapters.livekit.room_leg import RoomLeg
from voxcore_domain.voice.audio import FRAME_SAMPLES, SAMPLE_RATE

SCENARIO = "VOX_ROOM_PROCESS_TEST_DOUBLE"
JOURNAL = "VOX_ROOM_PROCESS_TEST_JOURNAL"
CALLER = "sip-double"
"""The caller's identity when the join names none."""
SAID = array.array("h", [1000, -1000] * (FRAME_SAMPLES // 2)).tobytes()
"""What the caller says in `leaves`: one 20 ms frame of 8 kHz PCM."""


def note(line: str) -> None:
    path = os.environ.get(JOURNAL)
    if path:
        with open(path, "a", encoding="utf-8") as journal:
            journal.write(line + "\n")


class ScriptedRoom:
    """The room's side of a `RoomLeg`: what the agent says comes here (`RoomOutput`)."""

    def __init__(self, scenario: str) -> None:
        self.scenario = scenario
        self.leg: RoomLeg | None = None
        self.caller = CALLER

    async def capture(self, frame: rtc.AudioFrame) -> None:
        if self.scenario == "crashes-talking":
            os._exit(4)
        if self.scenario == "echo" and self.leg is not None:
            self.leg.audio(self.caller, frame)

    def clear(self) -> None:
        note("clear")

    async def wait_for_playout(self) -> None:
        return

    async def leave(self) -> None:
        note("leaving")
        if self.scenario == "stubborn":
            await asyncio.Event().wait()


async def join(
    url: str,
    token: str,
    *,
    caller: str | None,
    caller_wait_s: float,
    connect_timeout_s: float = 10.0,
) -> RoomLeg:
    """`room_leg.join_room`'s signature, the room scripted by `VOX_ROOM_PROCESS_TEST_DOUBLE`."""
    scenario = os.environ.get(SCENARIO, "echo")
    note(f"pid {os.getpid()}")
    note(f"joining {url} {hashlib.sha256(token.encode()).hexdigest()}")
    if scenario == "crashes-joining":
        os._exit(3)
    if scenario == "refuses":
        raise RoomJoinFailed("cannot join the LiveKit room: the room double refused the agent")
    if scenario == "stalls":
        await asyncio.Event().wait()
    if scenario == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    room = ScriptedRoom(scenario)
    room.caller = caller or CALLER
    leg = RoomLeg(room, room.caller)
    room.leg = leg
    leg.participant_joined(room.caller)
    await leg.wait_for_caller(caller_wait_s)
    if scenario == "echo":
        leg.dtmf(room.caller, "5")
    elif scenario == "leaves":
        leg.audio(room.caller, rtc.AudioFrame(SAID, SAMPLE_RATE, 1, FRAME_SAMPLES))
        leg.participant_left(room.caller)
    elif scenario.startswith("holds:"):
        seconds = float(scenario.removeprefix("holds:"))
        asyncio.get_running_loop().call_later(seconds, leg.participant_left, room.caller)
    return leg
