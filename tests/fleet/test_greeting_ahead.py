"""The scripted agent synthesizes its greeting while the callee is still saying hello, so a
speech synthesizer's time is not added to the call's first audio; a call that ends before the
greeting (the caller gone at once) stops the unused synthesis. The leg is a real `RoomLeg` with
a recorded output, as in the LiveKit call tests."""

from __future__ import annotations

import asyncio

import pytest

from tests.fleet.test_livekit_calls import say, until
from tests.integration.livekit.test_room_leg import RecordedOutput
from voxcore_adapters.livekit.room_leg import RoomLeg
from voxcore_adapters.testing.carrier import quiet, voice
from voxcore_adapters.voice.scripted import ScriptedAgent
from voxcore_adapters.voice.tones import ToneSynth
from voxcore_domain.model import Disposition
from voxcore_domain.voice.call import CallSetup
from voxcore_domain.voice.script import Script

pytestmark = pytest.mark.integration

CALLER = "sip-call-1"
CALL = CallSetup("call-1", "tenant-1", "campaign-1", "agent-1", variables={"name": "Ann"})
GREETING = Script().render(CALL.variables).greeting


class GatedSynth:
    """Tones, but the greeting's render waits for `release`; records every render started."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.release = asyncio.Event()
        self.cancelled = False
        self.tones = ToneSynth()

    async def render(self, text: str) -> bytes:
        self.started.append(text)
        if text == GREETING:
            try:
                await self.release.wait()
            except asyncio.CancelledError:
                self.cancelled = True
                raise
        return self.tones.tones(text)


def room_leg() -> tuple[RoomLeg, RecordedOutput]:
    output = RecordedOutput()
    leg = RoomLeg(output, CALLER)
    leg.participant_joined(CALLER)
    return leg, output


async def test_the_greeting_is_synthesized_before_the_callee_has_spoken() -> None:
    synth = GatedSynth()
    leg, output = room_leg()
    call = asyncio.ensure_future(ScriptedAgent(Script(), synth).run(CALL, leg))
    # Nothing has been heard from the callee yet, and the greeting is being rendered.
    await until(lambda: synth.started == [GREETING])
    assert output.frames == []
    synth.release.set()
    say(leg, voice(600) + quiet(700))
    greeting = synth.tones.tones(GREETING)
    await until(lambda: sum(len(bytes(f.data)) for f in output.frames) >= len(greeting))
    assert b"".join(bytes(f.data) for f in output.frames)[: len(greeting)] == greeting
    leg.participant_left(CALLER)
    outcome = await asyncio.wait_for(call, 5)
    assert outcome.disposition is Disposition.HUNG_UP
    assert synth.started.count(GREETING) == 1


async def test_a_call_that_ends_before_the_greeting_stops_its_synthesis() -> None:
    synth = GatedSynth()
    leg, output = room_leg()
    call = asyncio.ensure_future(ScriptedAgent(Script(), synth).run(CALL, leg))
    await until(lambda: synth.started == [GREETING])
    leg.participant_left(CALLER)
    outcome = await asyncio.wait_for(call, 5)
    assert outcome.disposition is Disposition.HUNG_UP
    assert synth.cancelled
    assert output.frames == []
