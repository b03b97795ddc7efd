"""Two dialler processes (`apps.dialler.main` under Granian) against MongoDB, Redis and the
LiveKit double: the leader is killed with SIGKILL, or frozen with SIGSTOP and thawed after a
standby took over. The double's record of `CreateSIPParticipant` calls shows who was dialled."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from tests.integration.dialler.conftest import (
    LEADER_TTL_S,
    SLOT_TTL,
    DiallerProcess,
    Shop,
    StartDialler,
    seed,
    until_async,
)
from voxcore_adapters.fakes import Callee
from voxcore_adapters.mongo import MongoContactLeases
from voxcore_adapters.redis import RedisPauseSwitch, RedisSlotRegistry, connect
from voxcore_adapters.testing.livekit_double import LiveKitDouble
from voxcore_domain.model import ContactState, Disposition, Slot, SlotState

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def idle_workers(shop: Shop, n: int) -> AsyncIterator[None]:
    """`n` fleet slots of host `h1` that heartbeat as idle for as long as the block runs (`h1`
    has nothing listening, so an answered call is abandoned: these tests are about who
    dials)."""
    client: Redis = connect(shop.redis_url)
    registry = RedisSlotRegistry(client, shop.prefix)

    async def beat() -> None:
        while True:
            for i in range(n):
                slot = Slot("h1", f"w{i}", SlotState.IDLE, heartbeat_at=datetime.now(UTC))
                await registry.heartbeat(slot, SLOT_TTL)
            await asyncio.sleep(0.5)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.aclose()


@contextlib.asynccontextmanager
async def paused(shop: Shop) -> AsyncIterator[RedisPauseSwitch]:
    """The platform's dial pause (`python -m apps.dialler.pause on`), on while the block runs
    unless the block turns it off."""
    client: Redis = connect(shop.redis_url)
    switch = RedisPauseSwitch(client, shop.prefix)
    await switch.set_paused(True)
    try:
        yield switch
    finally:
        await switch.set_paused(False)
        await client.aclose()


def dialled(livekit: LiveKitDouble) -> list[str]:
    calls = livekit.calls_to("SIP/CreateSIPParticipant")
    return [str(getattr(call.request, "sip_call_to", "")) for call in calls]


async def test_kill_9_the_leader_the_standby_takes_over_and_nobody_is_dialled_twice(
    shop: Shop, livekit: LiveKitDouble, start_dialler: StartDialler
) -> None:
    people = seed(shop.db, 40)
    for person in people:
        livekit.script(person.phone, Callee.busy(after_s=0.2))
    leases = MongoContactLeases(shop.db)
    async with idle_workers(shop, 3), paused(shop) as pause:
        # Dialling starts once both are up, so the leader is killed mid-run, not after it has
        # dialled everyone while the standby was still starting.
        first = await start_dialler("dialler-a")
        await until_async(lambda: _is(first, "leader"), within_s=15)
        second = await start_dialler("dialler-b")
        assert await second.role() == "standby"
        await pause.set_paused(False)
        await until_async(lambda: _true(len(dialled(livekit)) >= 8), within_s=30)

        first.signal(signal.SIGKILL)
        killed_at = asyncio.get_running_loop().time()
        await first.process.wait()
        left_behind = set(livekit.rooms)
        assert left_behind
        await until_async(lambda: _is(second, "leader"), within_s=LEADER_TTL_S + 5, every_s=0.05)
        took_s = asyncio.get_running_loop().time() - killed_at
        # Within the leader lock's TTL plus a tick or two of the standby's own.
        assert took_s < LEADER_TTL_S + 2
        # The new leader deleted the rooms the dead one left (its own calls use new ones).
        await until_async(lambda: _true(left_behind.isdisjoint(livekit.rooms)), within_s=10)

        def settled() -> bool:
            return all(c.state is ContactState.EXHAUSTED for c in leases.contacts())

        await until_async(lambda: _true(settled()), within_s=60)

    numbers = dialled(livekit)
    assert len(numbers) == len(set(numbers)), "a number was dialled twice"
    stored = leases.contacts()
    # Every contact was dialled exactly once and ended terminal (one attempt allowed): busy, or
    # failed if the killed leader left it ringing and the new leader closed it out.
    assert {c.state for c in stored} == {ContactState.EXHAUSTED}
    assert all(c.attempts == 1 for c in stored)
    assert {c.last_disposition for c in stored} <= {Disposition.BUSY, Disposition.FAILED}
    # A dial cut short by the kill may never have reached the double's record.
    assert set(numbers) <= {p.phone for p in people}
    assert len(numbers) >= len(people) - 3


async def test_a_frozen_leader_writes_nothing_after_a_standby_took_over(
    shop: Shop, livekit: LiveKitDouble, start_dialler: StartDialler
) -> None:
    people = seed(shop.db, 4)
    slow, *rest = people
    livekit.script(slow.phone, Callee.answering(after_s=12.0))
    for person in rest:
        livekit.script(person.phone, Callee.busy(after_s=0.2))
    leases = MongoContactLeases(shop.db)
    async with idle_workers(shop, 1), paused(shop) as pause:
        # Nothing is dialled until both processes are up and ticking: the slow callee's 12 s
        # starts with the leader's dial, and must not run out while the standby is starting
        # (seconds of imports, which a busy machine stretches past ten).
        frozen = await start_dialler("dialler-a")
        await until_async(lambda: _is(frozen, "leader"), within_s=15)
        standby = await start_dialler("dialler-b")
        assert await standby.role() == "standby"
        assert (dialled(livekit), livekit.rooms) == ([], {})
        await pause.set_paused(False)
        # The leader's first dial rings (the callee answers only after 12 s; the double records
        # the dial when it ends, but the call's room exists from the start): freeze it then.
        await until_async(lambda: _true(bool(livekit.rooms)), within_s=15, every_s=0.02)
        frozen.signal(signal.SIGSTOP)
        assert dialled(livekit) == []

        await until_async(lambda: _is(standby, "leader"), within_s=LEADER_TTL_S + 5)

        # The new leader closed the frozen one's ringing call out as failed (deleting its room,
        # which ends the dial) and dialled the rest.
        def closed() -> bool:
            contact = leases.get(slow.id)
            return contact is not None and contact.last_disposition is Disposition.FAILED

        await until_async(lambda: _true(closed()), within_s=15)
        await until_async(
            lambda: _true(all(c.state is ContactState.EXHAUSTED for c in leases.contacts())),
            within_s=30,
        )

        frozen.signal(signal.SIGCONT)
        # Thawed, it finds its lock gone and its writes refused: the contact keeps the new
        # leader's outcome, and nobody is dialled again.
        await until_async(lambda: _is(frozen, "standby"), within_s=10)
        await asyncio.sleep(2 * LEADER_TTL_S)
        assert await frozen.role() == "standby"

    stored = leases.get(slow.id)
    assert stored is not None
    assert (stored.state, stored.last_disposition, stored.attempts) == (
        ContactState.EXHAUSTED,
        Disposition.FAILED,
        1,
    )
    numbers = dialled(livekit)
    assert sorted(numbers) == sorted(set(numbers))
    # The frozen leader's dial is still pending at the double (its callee answers late), so it
    # may not be in the record yet; everyone else was dialled once, by the new leader.
    assert set(numbers) - {slow.phone} == {p.phone for p in rest}


async def _is(dialler: DiallerProcess, role: str) -> bool:
    return await dialler.role() == role


async def _true(value: bool) -> bool:
    return value
