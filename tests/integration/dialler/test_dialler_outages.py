"""The dialler while its stores go away and come back, with the real server processes stopped
and restarted: MongoDB (SecantusDB) and Redis (Valkey). These tests start servers of their own,
whatever `VOX_TEST_MONGO_URL` or `VOX_TEST_REDIS_URL` say: a server someone else runs cannot be
stopped."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, timedelta

import pymongo
import pytest
from pymongo.errors import ConnectionFailure
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from apps.dialler.loop import Dialler
from apps.dialler.stores import StoreCalls
from tests.dialler.conftest import SLOT_TTL, FakeFleet, make_campaign
from voxcore_adapters.fakes import (
    Callee,
    FakeTelephony,
    InMemoryCallLog,
    InMemoryCampaigns,
    InMemoryContactLeases,
    InMemoryLeaderLock,
    InMemorySlotRegistry,
    ManualClock,
)
from voxcore_adapters.mongo import (
    MongoCallLog,
    MongoCampaigns,
    MongoContactImport,
    MongoContactLeases,
    ensure_indexes,
)
from voxcore_adapters.mongo.documents import Document
from voxcore_adapters.redis import RedisLeaderLock, RedisSlotRegistry
from voxcore_adapters.testing import mongo_server, redis_server
from voxcore_adapters.testing.process import ServerProcess
from voxcore_domain.model import Contact, ContactState, Disposition, Slot, SlotState

pytestmark = pytest.mark.integration


def contacts(clock: ManualClock, n: int) -> list[Contact]:
    return [
        Contact(
            id=f"k{i}",
            campaign_id="c1",
            tenant_id="t1",
            phone=f"+4420790{i:05d}",
            next_attempt_at=clock.now() - timedelta(hours=1),
        )
        for i in range(n)
    ]


def counted(dialler: Dialler, name: str, **labels: str) -> float:
    value = dialler.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def until(condition: object, within_s: float = 10.0) -> None:
    assert callable(condition)
    deadline = asyncio.get_running_loop().time() + within_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


# -- MongoDB -------------------------------------------------------------------------------------


@pytest.fixture
def mongo_process() -> Iterator[ServerProcess]:
    with mongo_server.secantus_server() as server:
        yield server


async def test_mongo_down_no_new_leases_and_the_outcomes_land_when_it_is_back(
    mongo_process: ServerProcess,
) -> None:
    clock = ManualClock()
    client: pymongo.MongoClient[Document] = pymongo.MongoClient(
        mongo_server.server_url(mongo_process),
        tz_aware=True,
        tzinfo=UTC,
        serverSelectionTimeoutMS=500,
        connectTimeoutMS=500,
    )
    try:
        db = client.get_database("vox_dialler_outage")
        ensure_indexes(db)
        MongoCampaigns(db).put(make_campaign())
        people = contacts(clock, 3)
        MongoContactImport(db).import_contacts(people)
        leases = MongoContactLeases(db, rng=random.Random(3))
        telephony = FakeTelephony(clock=clock, time_scale=1.0)
        for person in people:
            telephony.script(person.phone, Callee.busy(after_s=1.0))
        slots = InMemorySlotRegistry(clock)
        await slots.heartbeat(Slot("h1", "w0", SlotState.IDLE, clock.now()), SLOT_TTL)
        dialler = Dialler(
            campaigns=MongoCampaigns(db),
            leases=leases,
            slots=slots,
            lock=InMemoryLeaderLock(clock),
            telephony=telephony,
            fleet=FakeFleet(slots, clock),
            call_log=MongoCallLog(db),
            clock=clock,
            owner="d1",
            stores=StoreCalls(offload=True, unavailable=(ConnectionFailure,)),
        )

        report = await dialler.tick(clock.now())
        assert report.leased == {"c1": 1}
        await until(lambda: any(c.state is ContactState.DIALING for c in leases.contacts()))
        (ringing,) = [c for c in leases.contacts() if c.state is ContactState.DIALING]

        # MongoDB stops while the phone rings; the callee is busy.
        await asyncio.to_thread(mongo_process.halt)
        await dialler.wait_idle()
        assert dialler.failures == []
        clock.advance(timedelta(seconds=2))
        report = await dialler.tick(clock.now())
        assert report.leased == {}
        assert dialler.metrics.registry.get_sample_value("vox_dialler_buffered_writes") == 2
        assert counted(dialler, "vox_dialler_store_unavailable_total", step="campaigns") == 1

        # Back: the kept outcome and its call-log record land, in order.
        await asyncio.to_thread(mongo_process.restart)
        clock.advance(timedelta(seconds=2))
        await slots.heartbeat(Slot("h1", "w0", SlotState.IDLE, clock.now()), SLOT_TTL)
        await dialler.tick(clock.now())
        assert dialler.metrics.registry.get_sample_value("vox_dialler_buffered_writes") == 0
        stored = leases.get(ringing.id)
        assert stored is not None
        assert (stored.state, stored.last_disposition, stored.attempts, stored.lease) == (
            ContactState.READY,
            Disposition.BUSY,
            1,
            None,
        )
        (attempt,) = MongoCallLog(db).for_contact(ringing.id)
        assert attempt.disposition is Disposition.BUSY
        await dialler.wait_idle()
        assert dialler.failures == []
    finally:
        client.close()


# -- Redis ---------------------------------------------------------------------------------------


@pytest.fixture
async def redis_process() -> AsyncIterator[ServerProcess]:
    server = await asyncio.to_thread(redis_server.redis_server().start)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


async def test_redis_down_no_dials_and_dialling_resumes_when_it_restarts_empty(
    redis_process: ServerProcess,
) -> None:
    clock = ManualClock()
    client = Redis.from_url(
        redis_server.server_url(redis_process),
        decode_responses=True,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
    )
    try:
        slots = RedisSlotRegistry(client)
        fleet = FakeFleet(slots, clock)  # type: ignore[arg-type]
        fleet.refuse = True  # every answer is abandoned, so the slot stays free for the next dial
        leases = InMemoryContactLeases(contacts(clock, 10), rng=random.Random(5))
        telephony = FakeTelephony(clock=clock)
        dialler = Dialler(
            campaigns=InMemoryCampaigns([make_campaign()]),
            leases=leases,
            slots=slots,
            lock=RedisLeaderLock(client),
            telephony=telephony,
            fleet=fleet,
            call_log=InMemoryCallLog(),
            clock=clock,
            owner="d1",
            attach_budget_s=0.2,
            unavailable=(RedisConnectionError, RedisTimeoutError),
        )
        worker = Slot("h1", "w0", SlotState.IDLE, clock.now())
        await slots.heartbeat(worker, timedelta(minutes=5))
        await dialler.tick(clock.now())
        await dialler.wait_idle()
        assert len(telephony.placed) == 1
        assert dialler.token == 1

        await asyncio.to_thread(redis_process.halt)
        for _ in range(2):
            clock.advance(timedelta(seconds=2))
            report = await dialler.tick(clock.now())
            await dialler.wait_idle()
            assert report.leased == {}
        assert len(telephony.placed) == 1
        assert counted(dialler, "vox_dialler_store_unavailable_total", step="leader_lock") == 2

        # Redis comes back empty: no lock, no token counter, no slots until the worker beats.
        await asyncio.to_thread(redis_process.restart)
        await slots.heartbeat(worker, timedelta(minutes=5))
        for _ in range(2):
            clock.advance(timedelta(seconds=2))
            await dialler.tick(clock.now())
            await dialler.wait_idle()
        assert dialler.failures == []
        assert len(telephony.placed) >= 2
        # The restarted lock handed out token 1 again, which the contact store had seen: the
        # dialler moved past it rather than share a token with its former self.
        assert dialler.token == 2
        numbers = [placed.request.to for placed in telephony.placed]
        assert len(numbers) == len(set(numbers))
    finally:
        await client.aclose()
