"""The simulated carrier's hang-up ends the call at once and waits only so long for the
callee's stream to wind down; one still running then is logged."""

from __future__ import annotations

import asyncio
import logging

import pytest

from voxcore_adapters.fakes import InMemorySlotRegistry, ManualClock
from voxcore_adapters.fakes.media_fakes import Callee
from voxcore_adapters.sim import CalleeMedia, MediaTarget, SimTelephony
from voxcore_adapters.sim.telephony import HUNG_UP
from voxcore_domain.ports import DialRequest
from voxcore_domain.simulation.callees import CalleeModel, DrawnCallee

MODEL = CalleeModel(answer_rate=1.0, mean_talk_s=6.0, voicemail_s=9.0)


class StreamingMedia(CalleeMedia):
    """A callee's stream that runs until cancelled, then winds down once `released` is set."""

    def __init__(self) -> None:
        super().__init__(InMemorySlotRegistry(ManualClock()), MediaTarget("unix:/nowhere.sock"))
        self.started = asyncio.Event()
        self.released = asyncio.Event()

    async def play(self, call_id: str, callee: DrawnCallee) -> str:
        self.started.set()
        try:
            await asyncio.sleep(3600)
        finally:
            await self.released.wait()
        return "callee hung up"


async def answered(sim: SimTelephony, media: StreamingMedia) -> None:
    sim.script("+14155550001", Callee.answering(after_s=0))
    await sim.place_call(DialRequest("c1", "ST_sim", "+14155550001", "+14155550000", 15.0, "r1"))
    await media.started.wait()


async def test_a_stream_that_stops_is_waited_for() -> None:
    media = StreamingMedia()
    sim = SimTelephony(MODEL, media=media)
    await answered(sim, media)
    media.released.set()

    await sim.hang_up("c1", "r1")

    assert sim.ended == {"c1": HUNG_UP}
    assert sim.live_calls == {}


async def test_a_stream_slow_to_stop_does_not_hold_the_hang_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    media = StreamingMedia()
    sim = SimTelephony(MODEL, media=media)
    await answered(sim, media)

    with caplog.at_level(logging.WARNING, logger="voxcore_adapters.sim.telephony"):
        await sim.hang_up("c1", "r1")

    # Returned while the stream is still winding down: the call is over all the same.
    assert sim.ended == {"c1": HUNG_UP}
    assert sim.hung_up == ["c1"]
    assert "call c1: the callee's stream is still running" in caplog.text
    media.released.set()
    stream = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    await asyncio.wait(stream)
    assert [task.cancelled() for task in stream] == [True]
    # The stream's own ending does not rewrite how the call ended.
    assert sim.ended == {"c1": HUNG_UP}
