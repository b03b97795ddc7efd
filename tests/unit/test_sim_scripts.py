"""Scripted numbers on the simulated carrier: a person by default, an answering machine when
asked; what reaches the media path is that callee, for the model's talk or voicemail time."""

from __future__ import annotations

import asyncio

from voxcore_adapters.fakes import InMemorySlotRegistry, ManualClock
from voxcore_adapters.fakes.media_fakes import Callee
from voxcore_adapters.sim import CalleeMedia, MediaTarget, SimTelephony
from voxcore_domain.ports import DialRequest
from voxcore_domain.simulation.callees import Answerer, CalleeModel, DrawnCallee


class HeardMedia(CalleeMedia):
    """Keeps the callee each answered call would stream, instead of streaming it."""

    def __init__(self) -> None:
        super().__init__(InMemorySlotRegistry(ManualClock()), MediaTarget("unix:/nowhere.sock"))
        self.played: dict[str, DrawnCallee] = {}

    async def play(self, call_id: str, callee: DrawnCallee) -> str:
        self.played[call_id] = callee
        return "callee hung up"


def dial(call_id: str, to: str) -> DialRequest:
    return DialRequest(call_id, "ST_sim", to, "+14155550000", 15.0, f"room-{call_id}")


async def test_a_scripted_number_is_a_person_unless_scripted_as_a_machine() -> None:
    media = HeardMedia()
    model = CalleeModel(answer_rate=1.0, mean_talk_s=6.0, voicemail_s=9.0)
    sim = SimTelephony(model, media=media)
    sim.script("+14155550001", Callee.answering(after_s=0.01))
    sim.script("+14155550002", Callee.answering(after_s=0.02), machine=True)

    await sim.place_call(dial("person", "+14155550001"))
    await sim.place_call(dial("machine", "+14155550002"))
    await asyncio.sleep(0)

    assert media.played == {
        "person": DrawnCallee(Answerer.PERSON, 0.01, 6.0),
        "machine": DrawnCallee(Answerer.MACHINE, 0.02, 9.0),
    }
    # Scripted again without `machine`: a person answers that number from then on.
    sim.script("+14155550002", Callee.answering())
    await sim.place_call(dial("again", "+14155550002"))
    await asyncio.sleep(0)
    assert media.played["again"].answerer is Answerer.PERSON
    await sim.aclose()
