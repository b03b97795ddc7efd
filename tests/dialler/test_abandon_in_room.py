"""The abandon path with the LiveKit abandon messages on a recorded room (the WebRTC join needs a
LiveKit server, which cannot run here): each campaign's own message is said into the call's
room before the room is deleted, and a room that never plays bounds the dial task, not the
tick."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import timedelta

import attrs
import jwt
import pytest

from apps.dialler.abandon import OffLoopTones, abandon_messages
from apps.dialler.loop import Dialler, room_of
from apps.dialler.settings import Settings
from tests.dialler.conftest import World
from tests.integration.livekit.recorded_room import RecordedRoom
from voxcore_adapters.livekit import LiveKitSettings
from voxcore_adapters.livekit.abandon import LiveKitAbandonMessages
from voxcore_adapters.livekit.room_leg import RoomOutput
from voxcore_adapters.sim import SimAbandonMessages, SimTelephony
from voxcore_adapters.voice.tones import ToneSynth
from voxcore_domain.model import Contact, ContactState, Disposition
from voxcore_domain.simulation.callees import CalleeModel

SETTINGS = LiveKitSettings(
    "https://livekit.example", "APIkey", "a-secret-long-enough-for-hs256-signing"
)


class Rooms:
    """One `RecordedRoom` per room joined; notes how many calls were hung up when each left."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.rooms: dict[str, RecordedRoom] = {}
        self.hung_up_at_leave: dict[str, int] = {}
        self.hold_playout = False

    async def publish(self, url: str, token: str, *, connect_timeout_s: float = 10.0) -> RoomOutput:
        name = jwt.decode(token, options={"verify_signature": False})["video"]["room"]
        room = self.rooms[name] = RecordedRoom()
        if self.hold_playout:
            room.playout.clear()
        output = await room.publish(url, token, connect_timeout_s=connect_timeout_s)
        leave = output.leave

        async def leave_noting_hang_ups() -> None:
            self.hung_up_at_leave[name] = len(self.world.telephony.hung_up)
            await leave()

        room.leave = leave_noting_hang_ups  # type: ignore[method-assign]
        return room

    def said(self, name: str) -> bytes:
        return b"".join(bytes(f.data) for f in self.rooms[name].frames)


def counted(dialler: Dialler, name: str, **labels: str) -> float:
    value = dialler.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def dialler_with_rooms(world: World, rooms: Rooms, **overrides: object) -> Dialler:
    messages = LiveKitAbandonMessages(SETTINGS, ToneSynth(), publish=rooms.publish)
    return world.dialler("d1", abandon_messages=messages, **overrides)


async def test_each_campaigns_own_message_is_said_into_the_room_before_it_is_deleted(
    world: World,
) -> None:
    acme = attrs.evolve(world.campaign, abandon_message="This was Acme Energy; call 0800 1.")
    bright = attrs.evolve(
        world.campaign, id="c2", name="Brightwater", abandon_message="Brightwater here; bye."
    )
    world.campaigns.put(acme)
    world.campaigns.put(bright)
    for campaign in (acme, bright):
        world.leases.add(
            Contact(
                id=f"k-{campaign.id}",
                campaign_id=campaign.id,
                tenant_id=campaign.tenant_id,
                phone="+442079000001" if campaign is acme else "+442079000002",
                next_attempt_at=world.clock.now() - timedelta(hours=1),
            )
        )
    await world.add_workers(2)
    world.fleet.refuse = True
    rooms = Rooms(world)
    dialler = dialler_with_rooms(world, rooms)

    for _ in range(3):
        await dialler.tick(world.clock.now())
        await dialler.wait_idle()
        world.advance(2)
    assert dialler.failures == []

    synth = ToneSynth()
    by_campaign = {p.request.to: p.request for p in world.telephony.placed}
    for campaign, phone in ((acme, "+442079000001"), (bright, "+442079000002")):
        room = room_of(by_campaign[phone].call_id)
        rendered = await synth.render(campaign.abandon_message or "")
        assert rooms.said(room)[: len(rendered)] == rendered
        assert rooms.rooms[room].steps == ["join", "capture", "playout", "leave"]
        # Left before anything of its own was hung up; the room deleted after.
        call_id = by_campaign[phone].call_id
        assert call_id in world.telephony.hung_up
        assert world.telephony.hung_up.index(call_id) >= rooms.hung_up_at_leave[room]
        stored = world.leases.get(f"k-{campaign.id}")
        assert stored is not None
        assert (stored.state, stored.last_disposition) == (
            ContactState.READY,
            Disposition.ABANDONED,
        )
    assert counted(dialler, "vox_dialler_abandon_messages_total", result="played") == 2
    assert counted(dialler, "vox_dialler_dials_total", outcome="abandoned") == 2


async def test_a_room_that_never_plays_holds_its_dial_task_not_the_tick(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.campaigns.put(attrs.evolve(world.campaign, abandon_message="This was Acme."))
    (contact,) = world.add_contacts(1)
    await world.add_workers(1)
    world.fleet.refuse = True
    rooms = Rooms(world)
    rooms.hold_playout = True
    dialler = dialler_with_rooms(world, rooms, abandon_message_budget_s=0.3)

    with caplog.at_level(logging.ERROR, logger="apps.dialler.loop"):
        report = await dialler.tick(world.clock.now())
        assert report.leased == {world.campaign.id: 1}
        async with asyncio.timeout(2):
            while not rooms.rooms or rooms.rooms[next(iter(rooms.rooms))].steps[-1] != "playout":
                await asyncio.sleep(0.01)
        # The message is stuck in its room, in the call's own task: the next tick runs anyway.
        world.advance(2)
        again = await dialler.tick(world.clock.now())
        assert again.leader
        assert dialler.in_flight == 1
        async with asyncio.timeout(5):
            await dialler.wait_idle()

    assert dialler.failures == []
    assert counted(dialler, "vox_dialler_abandon_messages_total", result="failed") == 1
    assert "the abandon message was not played" in caplog.text
    ((room, recorded),) = rooms.rooms.items()
    assert recorded.steps[-1] == "leave"
    assert world.telephony.hung_up == [room.removeprefix("call-")]
    stored = world.leases.get(contact.id)
    assert stored is not None
    assert stored.last_disposition is Disposition.ABANDONED


async def test_a_campaign_without_a_message_joins_no_room(world: World) -> None:
    world.add_contacts(1)
    await world.add_workers(1)
    world.fleet.refuse = True
    rooms = Rooms(world)
    dialler = dialler_with_rooms(world, rooms)

    await dialler.tick(world.clock.now())
    await dialler.wait_idle()

    assert rooms.rooms == {}
    assert len(world.telephony.hung_up) == 1
    assert counted(dialler, "vox_dialler_abandon_messages_total", result="none") == 1


def test_the_dialler_speaks_into_livekit_rooms_and_to_the_sims_callees(world: World) -> None:
    livekit = Settings(livekit_api_key="APIkey", livekit_api_secret="a-secret")
    assert isinstance(abandon_messages(livekit, world.telephony), LiveKitAbandonMessages)
    sim = attrs.evolve(livekit, telephony="sim")
    assert isinstance(abandon_messages(sim, SimTelephony(CalleeModel())), SimAbandonMessages)
    with pytest.raises(TypeError, match="SimTelephony"):
        abandon_messages(sim, world.telephony)


async def test_the_dialler_renders_its_tones_off_the_loop_and_the_same_as_the_agent() -> None:
    text = "This was Acme Energy; call 0800 1."
    seen: list[int] = []
    tones = ToneSynth()
    compute = tones.tones

    def tones_in(text: str) -> bytes:
        seen.append(threading.get_ident())
        return compute(text)

    tones.tones = tones_in  # type: ignore[assignment]
    rendered = await OffLoopTones(tones).render(text)

    assert rendered == await ToneSynth().render(text)
    assert seen
    assert threading.get_ident() not in seen
