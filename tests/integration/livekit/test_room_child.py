"""The worker's side of a room call: `join_in_child` starts a real room process
(`python -m voxcore_adapters.livekit.room_process`) whose WebRTC join is replaced by the room
double (`voxcore_adapters.testing.room_double`, through the test-only environment seam), and
talks to it over its real pipes. The child's joins, relays, exits and deaths are real."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from voxcore_adapters.livekit.joining import RoomJoinFailed
from voxcore_adapters.livekit.room_child import ChildRoomLeg, child_environment, join_in_child
from voxcore_adapters.testing import room_double
from voxcore_domain.ports import TransferResult
from voxcore_domain.voice.audio import FRAME_BYTES
from voxcore_domain.voice.call import Audio, Digit, Hangup, LegEvent, Played

REPO = Path(__file__).resolve().parents[3]
CALLER = "sip-call-1"
TOKEN = "agent-token-not-for-ps"
PCM = bytes(range(160)) * (FRAME_BYTES * 2 // 160)
"""Two whole 20 ms frames."""


class Room:
    """The double's scenario and journal for one test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, journal: Path) -> None:
        self.monkeypatch = monkeypatch
        self.journal = journal
        monkeypatch.setenv(
            "VOX_ROOM_PROCESS_TEST_JOIN", "voxcore_adapters.testing.room_double:join"
        )
        monkeypatch.setenv(room_double.JOURNAL, str(journal))

    def scenario(self, name: str) -> None:
        self.monkeypatch.setenv(room_double.SCENARIO, name)

    def lines(self) -> list[str]:
        return self.journal.read_text().splitlines() if self.journal.exists() else []

    def pid(self) -> int:
        [line] = [line for line in self.lines() if line.startswith("pid ")]
        return int(line.split()[1])


@pytest.fixture
def room(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Room:
    return Room(monkeypatch, tmp_path / "journal")


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie nobody reaped has exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def next_event(leg: ChildRoomLeg) -> LegEvent:
    async with asyncio.timeout(10):
        return await leg.receive()


class Ends:
    """Counts the leg's `end_call`."""

    def __init__(self) -> None:
        self.count = 0

    async def __call__(self) -> None:
        self.count += 1


async def test_the_child_joins_and_relays_both_ways_then_leaves_at_close(room: Room) -> None:
    room.scenario("echo")
    leg = await join_in_child("wss://lk.example", TOKEN, caller=CALLER, caller_wait_s=5)
    assert leg.caller == CALLER
    assert await next_event(leg) == Digit("5")
    await leg.play(PCM, "hello")
    # The double's caller says back what the agent said, as it is said.
    heard = b""
    while len(heard) < len(PCM):
        event = await next_event(leg)
        assert isinstance(event, Audio)
        heard += event.pcm
    assert heard == PCM
    assert await next_event(leg) == Played("hello")
    await leg.clear()
    await leg.close()
    assert await next_event(leg) == Hangup("the call is over")
    assert leg.ended
    assert not alive(leg.pid)
    lines = room.lines()
    assert lines[1] == f"joining wss://lk.example {hashlib.sha256(TOKEN.encode()).hexdigest()}"
    assert lines[2:] == ["clear", "leaving"]


async def test_the_callers_hang_up_ends_the_leg_and_close_ends_the_child(room: Room) -> None:
    room.scenario("leaves")
    ends = Ends()
    leg = await join_in_child("wss://lk", TOKEN, caller=None, caller_wait_s=5, end_call=ends)
    assert leg.caller == room_double.CALLER
    assert await next_event(leg) == Audio(room_double.SAID)
    assert await next_event(leg) == Hangup("the caller left the room")
    assert await next_event(leg) == Hangup("the caller left the room")
    assert alive(leg.pid)
    await leg.close()
    assert not alive(leg.pid)
    assert ends.count == 0  # the caller ended it; nothing for the agent to end


async def test_the_agents_hang_up_leaves_the_room_then_ends_the_call(room: Room) -> None:
    room.scenario("echo")
    ends = Ends()
    leg = await join_in_child("wss://lk", TOKEN, caller=CALLER, caller_wait_s=5, end_call=ends)
    assert await next_event(leg) == Digit("5")
    await leg.hang_up()
    await leg.hang_up()
    assert ends.count == 1
    assert not alive(leg.pid)
    assert room.lines()[-1] == "leaving"
    assert await next_event(leg) == Hangup("the agent hung up")


async def test_a_completed_transfer_ends_the_leg_without_ending_the_room(room: Room) -> None:
    room.scenario("echo")
    ends = Ends()
    targets: list[str] = []

    async def transfer(to: str) -> TransferResult:
        targets.append(to)
        return TransferResult()

    leg = await join_in_child(
        "wss://lk", TOKEN, caller=CALLER, caller_wait_s=5, end_call=ends, transfer=transfer
    )
    assert leg.can_transfer
    assert await next_event(leg) == Digit("5")
    assert (await leg.transfer("+14155550199")).completed
    assert targets == ["+14155550199"]
    assert await next_event(leg) == Hangup("the caller was transferred")
    await leg.hang_up()
    assert ends.count == 0
    assert not alive(leg.pid)


async def test_a_leg_without_transfer_refuses_one(room: Room) -> None:
    room.scenario("echo")
    leg = await join_in_child("wss://lk", TOKEN, caller=CALLER, caller_wait_s=5)
    try:
        assert not leg.can_transfer
        with pytest.raises(RoomJoinFailed, match="cannot be transferred"):
            await leg.transfer("+14155550199")
    finally:
        await leg.close()


@pytest.mark.parametrize(
    ("scenario", "why"),
    [
        ("refuses", "the room double refused the agent"),
        ("crashes-joining", r"exited before joining \(exit code 3\)"),
    ],
)
async def test_a_failed_join_raises_and_leaves_no_child(
    room: Room, scenario: str, why: str
) -> None:
    room.scenario(scenario)
    with pytest.raises(RoomJoinFailed, match=why):
        await join_in_child("wss://lk", TOKEN, caller=CALLER, caller_wait_s=5)
    assert not alive(room.pid())


async def test_a_join_that_does_not_finish_in_time_is_given_up_and_its_child_ended(
    room: Room,
) -> None:
    room.scenario("stalls")
    with pytest.raises(RoomJoinFailed, match="did not join the room in time"):
        await join_in_child(
            "wss://lk",
            TOKEN,
            caller=CALLER,
            caller_wait_s=0.5,
            connect_timeout_s=0.5,
            start_allowance_s=10,
        )
    assert not alive(room.pid())


async def test_a_child_that_dies_during_the_call_ends_the_leg_and_the_room(room: Room) -> None:
    room.scenario("crashes-talking")
    ends = Ends()
    leg = await join_in_child("wss://lk", TOKEN, caller=CALLER, caller_wait_s=5, end_call=ends)
    await leg.play(PCM, "hello")
    assert await next_event(leg) == Hangup("the room process ended unexpectedly (exit code 4)")
    assert ends.count == 1
    await leg.play(PCM, "ignored")
    await leg.hang_up()
    await leg.close()
    assert ends.count == 1
    assert await next_event(leg) == Hangup("the room process ended unexpectedly (exit code 4)")


async def test_a_child_that_will_not_leave_is_terminated_then_killed(room: Room) -> None:
    room.scenario("stubborn")
    leg = await join_in_child(
        "wss://lk", TOKEN, caller=CALLER, caller_wait_s=5, leave_grace_s=0.5, term_grace_s=0.5
    )
    started = time.monotonic()
    await leg.close()
    assert time.monotonic() - started < 5
    assert not alive(leg.pid)
    assert leg._process.returncode == -signal.SIGKILL


async def test_the_token_is_not_on_the_childs_command_line_nor_the_workers_secrets_in_its_env(
    room: Room, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOX_FLEET_LIVEKIT_API_SECRET", "worker-secret")
    room.scenario("echo")
    leg = await join_in_child("wss://lk", TOKEN, caller=CALLER, caller_wait_s=5)
    try:
        command = Path(f"/proc/{leg.pid}/cmdline").read_bytes()
        environment = Path(f"/proc/{leg.pid}/environ").read_bytes()
    finally:
        await leg.close()
    assert command.split(b"\0")[1:3] == [b"-m", b"voxcore_adapters.livekit.room_process"]
    assert TOKEN.encode() not in command
    assert TOKEN.encode() not in environment
    assert b"worker-secret" not in environment
    assert b"VOX_ROOM_PROCESS_TEST_JOIN=" in environment


def test_the_childs_environment_keeps_all_but_the_workers_settings() -> None:
    kept = child_environment(
        {"PATH": "/bin", "VOX_FLEET_S3_SECRET": "s", "VOX_ROOM_PROCESS_TEST_DOUBLE": "echo"}
    )
    assert kept == {"PATH": "/bin", "VOX_ROOM_PROCESS_TEST_DOUBLE": "echo"}


PARENT = """
import asyncio, sys
from voxcore_adapters.livekit.room_child import join_in_child

async def main():
    leg = await join_in_child("wss://lk", "t", caller="sip-1", caller_wait_s=5)
    print("joined", leg.pid, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_the_child_leaves_and_exits_when_its_worker_dies(room: Room) -> None:
    room.scenario("echo")
    parent = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        PARENT,
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO,
        env={**os.environ},
    )
    assert parent.stdout is not None
    try:
        async with asyncio.timeout(30):
            line = await parent.stdout.readline()
        assert line.startswith(b"joined "), line
        child = int(line.split()[1])
        assert alive(child)
    finally:
        parent.kill()
        await parent.wait()
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not alive(child)
    assert room.lines()[-1] == "leaving"
