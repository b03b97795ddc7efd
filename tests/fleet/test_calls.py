"""`CallRunner.run`: whatever the pipeline does (break, overrun, get cancelled), the call ends
with an outcome, its recording is kept and the slot is freed."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from apps.fleet.calls import CallRunner
from apps.fleet.metrics import FleetMetrics
from apps.fleet.recordings import RecordingArchive
from apps.fleet.slot import SlotGuard
from voxcore_adapters.carriers.frames import Encoding, Start
from voxcore_adapters.clock import UtcClock
from voxcore_adapters.fakes.media_fakes import InMemoryRecordingStore
from voxcore_domain.model import Disposition, SlotState
from voxcore_domain.ports import CallLeg
from voxcore_domain.voice.call import Audio, CallOutcome, CallSetup, LegEvent
from voxcore_domain.voice.recording import read_stereo_wav

CALL = CallSetup("call-1", "tenant-1", "campaign-1", "agent-1")
SOUND = b"\x10\x00" * 160


class EndlessLeg:
    """A caller who talks forever; records whether the call hung up."""

    def __init__(self) -> None:
        self.hung_up = False

    async def receive(self) -> LegEvent:
        await asyncio.sleep(0.001)
        return Audio(SOUND)

    async def play(self, pcm: bytes, mark: str) -> None:
        return None

    async def clear(self) -> None:
        return None

    async def hang_up(self) -> None:
        self.hung_up = True


class Listener:
    """A pipeline that listens for `frames` frames, then does `then`."""

    def __init__(self, frames: int, then: BaseException | None = None) -> None:
        self.frames = frames
        self.then = then

    async def run(self, call: CallSetup, leg: CallLeg) -> CallOutcome:
        for _ in range(self.frames):
            await leg.receive()
        if self.then is not None:
            raise self.then
        return CallOutcome(Disposition.COMPLETED)


def runner(
    pipeline: Listener, tmp_path: Path, max_call_s: float = 60.0
) -> tuple[CallRunner, SlotGuard, InMemoryRecordingStore]:
    guard = SlotGuard("host", "w1", UtcClock())
    store = InMemoryRecordingStore()
    metrics = FleetMetrics()
    archive = RecordingArchive(store, tmp_path, metrics, attempts=1, backoff_s=0.01)
    calls = CallRunner(
        guard, pipeline, archive, metrics, media_wait_s=1.0, max_call_s=max_call_s, retry_after_s=1
    )
    guard.claim(CALL.call_id)
    return calls, guard, store


async def test_a_pipeline_that_breaks_fails_the_call_not_the_worker(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    calls, guard, store = runner(Listener(5, RuntimeError("model went away")), tmp_path)
    outcome = await calls.run(CALL, EndlessLeg())
    assert outcome == CallOutcome.failed("the pipeline failed: RuntimeError")
    assert guard.slot.state is SlotState.IDLE
    caller, _ = read_stereo_wav(store.get("tenant-1/call-1/call.wav"))
    assert caller == SOUND * 5
    assert "model went away" in caplog.text


async def test_a_timeout_inside_the_pipeline_is_its_failure_not_the_calls_limit(
    tmp_path: Path,
) -> None:
    calls, _, _ = runner(Listener(1, TimeoutError()), tmp_path)
    outcome = await calls.run(CALL, EndlessLeg())
    assert outcome.reason == "the pipeline failed: TimeoutError"


async def test_a_call_that_runs_past_the_limit_is_hung_up(tmp_path: Path) -> None:
    calls, guard, store = runner(Listener(10**9), tmp_path, max_call_s=0.05)
    leg = EndlessLeg()
    outcome = await calls.run(CALL, leg)
    assert outcome == CallOutcome.failed("the call reached its 0.05 s limit")
    assert leg.hung_up
    assert guard.slot.state is SlotState.IDLE
    assert store.for_call("tenant-1", "call-1")


async def test_a_call_cancelled_with_the_worker_keeps_its_recording(tmp_path: Path) -> None:
    calls, guard, store = runner(Listener(10**9), tmp_path)
    task = asyncio.create_task(calls.run(CALL, EndlessLeg()))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert guard.slot.state is SlotState.IDLE
    caller, _ = read_stereo_wav(store.get("tenant-1/call-1/call.wav"))
    assert caller.startswith(SOUND * 3)


async def test_a_stream_arriving_as_the_media_wait_ends_keeps_its_slot(tmp_path: Path) -> None:
    guard = SlotGuard("host", "w1", UtcClock())
    metrics = FleetMetrics()
    archive = RecordingArchive(InMemoryRecordingStore(), tmp_path, metrics, attempts=1, backoff_s=1)
    calls = CallRunner(
        guard, Listener(0), archive, metrics, media_wait_s=0.01, max_call_s=1, retry_after_s=1
    )
    calls.attach(CALL, "twilio")
    await asyncio.sleep(0)  # the wait starts: its deadline is 10 ms from now
    start = Start("MZ1", "CA1", Encoding.MULAW, {"call_id": CALL.call_id})
    taken: list[CallSetup] = []
    asyncio.get_running_loop().call_later(
        0.02, lambda: taken.append(calls.take_stream(start, "twilio"))
    )
    # Block the loop past both deadlines: the timeout fires, then the stream arrives, in one
    # turn of the loop, before the waiting task wakes up.
    time.sleep(0.05)
    await asyncio.sleep(0.05)
    assert taken == [CALL]
    assert (guard.slot.state, guard.slot.call_id) == (SlotState.BUSY, CALL.call_id)
