"""The room process's side: its relay in this process over a real socketpair with the real
framing (the room a real `RoomLeg` on a recorded output), and its main as the worker starts it,
against the LiveKit Twirp double, where the WebRTC join fails cleanly (no LiveKit media server
can run here)."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.livekit.test_room_leg import RecordedOutput, frame
from voxcore_adapters.livekit.room_child import ROOM_PROCESS
from voxcore_adapters.livekit.room_frames import (
    Clear,
    Join,
    Joined,
    JoinFailed,
    Leave,
    Message,
    Play,
    ToChild,
    encode,
    read_message,
)
from voxcore_adapters.livekit.room_leg import RoomJoinFailed, RoomLeg
from voxcore_adapters.livekit.room_process import serve
from voxcore_adapters.livekit.tokens import agent_token
from voxcore_adapters.testing.livekit_double import LiveKitDouble
from voxcore_domain.voice.audio import FRAME_BYTES
from voxcore_domain.voice.call import Audio, Digit, Hangup, Played

REPO = Path(__file__).resolve().parents[3]
CALLER = "sip-call-1"
PCM = bytes(range(256)) * (FRAME_BYTES * 3 // 256) + bytes(FRAME_BYTES * 3 % 256)


class Room:
    """The joiner `serve` is given: a real `RoomLeg` on a recorded output, the caller there."""

    def __init__(self) -> None:
        self.output = RecordedOutput()
        self.leg: RoomLeg | None = None
        self.joins: list[tuple[str, str, str | None, float, float]] = []
        self.refuse: str | None = None
        self.stall = False
        self.cancelled = False

    async def __call__(
        self,
        url: str,
        token: str,
        *,
        caller: str | None,
        caller_wait_s: float,
        connect_timeout_s: float = 10.0,
    ) -> RoomLeg:
        self.joins.append((url, token, caller, caller_wait_s, connect_timeout_s))
        if self.refuse is not None:
            raise RoomJoinFailed(self.refuse)
        if self.stall:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled = True
                raise
        self.leg = RoomLeg(self.output, caller)
        self.leg.participant_joined(caller or CALLER)
        return self.leg


class Worker:
    """The worker's end of the socketpair."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def send(self, message: ToChild) -> None:
        self.writer.write(encode(message))
        await self.writer.drain()

    async def next(self) -> Message | None:
        async with asyncio.timeout(5):
            return await read_message(self.reader)


@pytest.fixture
async def pair(room: Room) -> AsyncIterator[tuple[Worker, asyncio.Task[None]]]:
    ours, theirs = socket.socketpair()
    child_reader, child_writer = await asyncio.open_connection(sock=theirs)
    reader, writer = await asyncio.open_connection(sock=ours)
    served = asyncio.create_task(serve(child_reader, child_writer, room))
    yield Worker(reader, writer), served
    served.cancel()
    await asyncio.wait({served})
    writer.close()
    child_writer.close()


@pytest.fixture
def room() -> Room:
    return Room()


JOIN = Join("wss://lk.example", "the-token", CALLER, 3.0, 4.0)


async def test_the_relay_joins_then_carries_both_ways_until_the_worker_leaves(
    pair: tuple[Worker, asyncio.Task[None]], room: Room
) -> None:
    worker, served = pair
    await worker.send(JOIN)
    assert await worker.next() == Joined(CALLER)
    assert room.joins == [("wss://lk.example", "the-token", CALLER, 3.0, 4.0)]
    assert room.leg is not None
    # The agent speaks: every frame reaches the room, then its mark comes back.
    await worker.send(Play(PCM, "greeting"))
    assert await worker.next() == Played("greeting")
    assert b"".join(bytes(f.data) for f in room.output.frames) == PCM
    # The caller speaks and presses a key.
    room.leg.audio(CALLER, frame(PCM[:FRAME_BYTES], 8000, 1))
    room.leg.dtmf(CALLER, "7")
    assert await worker.next() == Audio(PCM[:FRAME_BYTES])
    assert await worker.next() == Digit("7")
    await worker.send(Clear())
    await worker.send(Leave())
    async with asyncio.timeout(5):
        await served
    assert room.output.cleared == 1
    assert room.output.left == 1


async def test_the_callers_hang_up_reaches_the_worker_and_the_room_is_left_at_its_leave(
    pair: tuple[Worker, asyncio.Task[None]], room: Room
) -> None:
    worker, served = pair
    await worker.send(JOIN)
    assert await worker.next() == Joined(CALLER)
    assert room.leg is not None
    room.leg.participant_left(CALLER)
    assert await worker.next() == Hangup("the caller left the room")
    assert room.output.left == 0
    await worker.send(Leave())
    async with asyncio.timeout(5):
        await served
    assert room.output.left == 1


async def test_the_end_of_the_workers_stream_leaves_the_room(
    pair: tuple[Worker, asyncio.Task[None]], room: Room
) -> None:
    worker, served = pair
    await worker.send(JOIN)
    assert await worker.next() == Joined(CALLER)
    worker.writer.close()
    async with asyncio.timeout(5):
        await served
    assert room.output.left == 1


async def test_a_failed_join_is_reported_and_ends_the_relay(
    pair: tuple[Worker, asyncio.Task[None]], room: Room
) -> None:
    worker, served = pair
    room.refuse = "cannot join the LiveKit room: refused"
    await worker.send(JOIN)
    assert await worker.next() == JoinFailed("cannot join the LiveKit room: refused")
    async with asyncio.timeout(5):
        await served
    assert room.leg is None


async def test_the_worker_leaving_during_the_join_abandons_it(
    pair: tuple[Worker, asyncio.Task[None]], room: Room
) -> None:
    worker, served = pair
    room.stall = True
    await worker.send(JOIN)
    while not room.joins:
        await asyncio.sleep(0.01)
    await worker.send(Leave())
    async with asyncio.timeout(5):
        await served
    assert room.cancelled


# -- the process ----------------------------------------------------------------------------------


async def child() -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        ROOM_PROCESS,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
    )


async def finish(process: asyncio.subprocess.Process) -> tuple[int, bytes, bytes]:
    async with asyncio.timeout(60):
        stdout, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stdout, stderr


async def test_the_room_process_fails_to_join_where_there_is_no_webrtc_and_exits() -> None:
    with LiveKitDouble() as double:
        token = agent_token(double.api_key, double.api_secret, "call-7", "agent-7")
        process = await child()
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(encode(Join(double.url, token, "sip-7", 1.0, 5.0)))
        async with asyncio.timeout(60):
            answer = await read_message(process.stdout)
        code, rest, stderr = await finish(process)
        attempts = double.joins
    assert isinstance(answer, JoinFailed), stderr
    assert "cannot join the LiveKit room" in answer.reason
    assert (code, rest) == (0, b"")
    assert {a.claims["video"]["room"] for a in attempts if a.claims} == {"call-7"}
    assert token.encode() not in stderr


async def test_the_room_process_exits_at_once_when_its_stdin_ends_before_a_join() -> None:
    process = await child()
    assert process.stdin is not None
    process.stdin.close()
    assert await finish(process) == (0, b"", b"")


async def test_the_room_process_exits_with_an_error_on_bytes_that_are_not_frames() -> None:
    process = await child()
    assert process.stdin is not None
    process.stdin.write(b"\x00\x00\x00\x02zz")
    process.stdin.close()
    code, stdout, stderr = await finish(process)
    assert code == 1
    assert b"unknown message kind" in stderr
    assert stdout == b""
