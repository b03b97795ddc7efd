"""The abandon path on the simulated carrier (`VOX_DIALLER_TELEPHONY=sim`): the campaign's
message, rendered by the scripted agent's tone synth off the loop, is said to the simulated
callee in real time, then the call is hung up and counted once as an abandon."""

from __future__ import annotations

import attrs

from apps.dialler.abandon import OffLoopTones
from apps.dialler.loop import Dialler
from tests.dialler.conftest import World
from voxcore_adapters.fakes import Callee, InMemorySlotRegistry
from voxcore_adapters.sim import (
    CalleeMedia,
    HeardAudio,
    MediaTarget,
    SimAbandonMessages,
    SimTelephony,
)
from voxcore_adapters.voice.tones import ToneSynth
from voxcore_domain.model import ContactState, Disposition
from voxcore_domain.simulation.callees import CalleeModel
from voxcore_domain.voice.audio import FRAME_BYTES

MESSAGE = "Acme here; we will call back."


class NotedSim(SimTelephony):
    """The simulated carrier, noting what each callee had heard when the call was hung up."""

    def __init__(self, *args: object, **options: object) -> None:
        super().__init__(*args, **options)  # type: ignore[arg-type]
        self.heard_at_hang_up: dict[str, HeardAudio | None] = {}

    async def hang_up(self, call_id: str, room: str) -> None:
        self.heard_at_hang_up.setdefault(call_id, self.heard.get(call_id))
        await super().hang_up(call_id, room)


def counted(dialler: Dialler, name: str, **labels: str) -> float:
    value = dialler.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def abandon_one(world: World, sim: NotedSim) -> tuple[Dialler, str]:
    """One contact, answered at once, no worker: the abandon path."""
    world.campaigns.put(attrs.evolve(world.campaign, abandon_message=MESSAGE))
    (contact,) = world.add_contacts(1)
    sim.script(contact.phone, Callee.answering(after_s=0.0))
    await world.add_workers(1)
    world.fleet.refuse = True
    dialler = world.dialler(
        "d1", telephony=sim, abandon_messages=SimAbandonMessages(sim, OffLoopTones())
    )
    await dialler.tick(world.clock.now())
    await dialler.wait_idle()
    assert dialler.failures == []
    return dialler, contact.id


async def test_the_message_is_heard_whole_on_the_sim_then_the_call_is_hung_up_once(
    world: World,
) -> None:
    sim = NotedSim(CalleeModel())
    dialler, contact_id = await abandon_one(world, sim)

    (attempt,) = world.call_log.for_contact(contact_id)
    call_id = attempt.id
    rendered = await ToneSynth().render(MESSAGE)
    heard = sim.heard[call_id]
    # The callee heard the whole message, as long as the agent's voice takes to say it...
    assert heard.complete
    assert heard.frames == -(-len(rendered) // FRAME_BYTES)
    assert heard.ms >= 1000
    # ...and only then was the call hung up, once.
    assert sim.heard_at_hang_up[call_id] == heard
    assert sim.hung_up == [call_id]
    assert sim.live_calls == {}
    # Counted once, as an abandon with its message played.
    assert counted(dialler, "vox_dialler_dials_total", outcome="abandoned") == 1
    assert counted(dialler, "vox_dialler_abandon_messages_total", result="played") == 1
    assert counted(dialler, "vox_dialler_abandon_messages_total", result="failed") == 0
    assert attempt.disposition is Disposition.ABANDONED
    stored = world.leases.get(contact_id)
    assert stored is not None
    assert (stored.state, stored.last_disposition, stored.attempts) == (
        ContactState.READY,
        Disposition.ABANDONED,
        1,
    )
    rates = dialler.stats(world.campaign).abandon.rates(world.clock.now().timestamp())
    assert rates.today_answers == 1
    assert rates.today == 1.0


async def test_a_callee_who_gives_up_mid_message_is_still_hung_up_and_counted_once(
    world: World,
) -> None:
    # The carrier waits 0.3 s for a worker to take the call's media; none does, and the callee
    # is gone a moment into the message.
    media = CalleeMedia(
        InMemorySlotRegistry(world.clock), MediaTarget("unix:/nowhere/{worker}.sock"), wait_s=0.3
    )
    sim = NotedSim(CalleeModel(), media=media)
    dialler, contact_id = await abandon_one(world, sim)

    (attempt,) = world.call_log.for_contact(contact_id)
    heard = sim.heard[attempt.id]
    assert 0 < heard.frames < heard.sent
    assert sim.ended[attempt.id] == "no worker took the call"
    assert sim.hung_up == [attempt.id]
    assert counted(dialler, "vox_dialler_abandon_messages_total", result="failed") == 1
    assert counted(dialler, "vox_dialler_abandon_messages_total", result="played") == 0
    assert counted(dialler, "vox_dialler_dials_total", outcome="abandoned") == 1
    assert attempt.disposition is Disposition.ABANDONED
