"""What diallers share, on the real servers: the leader lock kept through a long take-over
(Redis) and the fleet-host list (the Mongo-wire server). The rest of each dialler runs on the
in-memory fakes (`tests.dialler.conftest`)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from pymongo.errors import ConnectionFailure
from redis.asyncio import Redis

from apps.dialler.fleet_hosts import FleetHostList
from apps.dialler.loop import Dialler
from apps.dialler.stores import StoreCalls
from tests.dialler.conftest import World, make_campaign, new_world
from tests.dialler.test_limits import TrunkTable
from tests.integration.dialler.conftest import Shop
from voxcore_adapters import redis
from voxcore_adapters.fakes.trunks import InMemoryFleetHosts
from voxcore_adapters.mongo import MongoFleetHosts
from voxcore_adapters.redis import RedisLeaderLock, RedisTrunkChannels
from voxcore_adapters.redis.channels import channels_key
from voxcore_domain.model import Campaign, CampaignState, ContactState, Disposition
from voxcore_domain.ports import DialRequest, DialResult
from voxcore_domain.shards import shard_of
from voxcore_domain.trunks import FleetHost, Trunk

LEADER_TTL = timedelta(seconds=0.6)


@pytest.fixture
async def client(dialler_redis_url: str) -> AsyncIterator[Redis]:
    connection = redis.connect(dialler_redis_url)
    try:
        yield connection
    finally:
        await connection.aclose()


@pytest.fixture
def prefix() -> str:
    return f"vox-{os.urandom(4).hex()}"


class SlowRecovery:
    """The contact store, with a take-over's sweep (`recover_expired_many`) taking `seconds` of
    real time per campaign, as a slow MongoDB with many campaigns would."""

    def __init__(self, inner: Any, seconds: float) -> None:
        self.inner = inner
        self.seconds = seconds

    def recover_expired_many(self, campaigns: Sequence[Campaign], now: datetime) -> Any:
        time.sleep(self.seconds * len(campaigns))
        return self.inner.recover_expired_many(campaigns, now)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_a_take_over_longer_than_the_leader_ttl_keeps_the_lead(
    client: Redis, prefix: str
) -> None:
    world: World = new_world()
    for key in ("c2", "c3", "c4"):
        world.campaigns.put(attrs.evolve(make_campaign(), id=key))
    world.add_contacts(2)
    await world.add_workers(2)
    lock = RedisLeaderLock(client, prefix)
    leader = world.dialler(
        "d1",
        lock=lock,
        leases=SlowRecovery(world.leases, 0.4),
        leader_ttl=LEADER_TTL,
        stores=StoreCalls(offload=True),
    )
    stolen: list[int] = []

    async def standby() -> None:
        while leader.token is None:  # the leader takes the lock first
            await asyncio.sleep(0.005)
        while True:
            token = await lock.acquire("0", "d2", LEADER_TTL)
            if token is not None:
                stolen.append(token)
            await asyncio.sleep(0.05)

    watching = asyncio.get_running_loop().create_task(standby())
    started = time.monotonic()
    try:
        report = await leader.tick(world.clock.now())
        await leader.wait_idle()
    finally:
        watching.cancel()
    took = time.monotonic() - started

    # Four campaigns' recovery took well over the lock's TTL; the lead was renewed throughout.
    assert took > 2 * LEADER_TTL.total_seconds()
    assert stolen == []
    assert report.leader
    assert leader.token is not None
    assert report.leased["c1"] >= 1  # and it went on to dial
    assert await lock.renew("0", "d1", leader.token, LEADER_TTL)


# -- the fleet-host list -------------------------------------------------------------------------


class Unreadable(InMemoryFleetHosts):
    """A fleet-host store that cannot be reached."""

    def all(self) -> list[FleetHost]:
        raise ConnectionFailure("no server")


async def test_the_fleet_host_list_comes_from_the_store_with_the_settings_as_fallback(
    shop: Shop,
) -> None:
    store = MongoFleetHosts(shop.db)
    told: list[dict[str, str]] = []
    hosts = FleetHostList(
        store,
        {"h1": "http://10.0.0.1:8000"},
        StoreCalls(offload=True, unavailable=(ConnectionFailure,)),
        timedelta(seconds=10),
        on_change=lambda listed: told.append(dict(listed)),
    )
    now = datetime(2024, 6, 5, 12, tzinfo=UTC)

    # An empty store: the settings' hosts.
    assert await hosts.usable(now) == {"h1": "http://10.0.0.1:8000"}
    assert not hosts.from_store

    store.put(FleetHost("h1", "http://10.0.1.1:8000"))
    store.put(FleetHost("h2", "unix:/run/vox/h2.sock"))
    store.put(FleetHost("h3", "http://10.0.1.3:8000", enabled=False))
    # Read again only once the TTL has passed.
    assert await hosts.usable(now + timedelta(seconds=9)) == {"h1": "http://10.0.0.1:8000"}
    later = now + timedelta(seconds=10)
    assert await hosts.usable(later) == {
        "h1": "http://10.0.1.1:8000",
        "h2": "unix:/run/vox/h2.sock",
    }
    assert hosts.from_store

    # Disabling a host drops it; a store with hosts, all disabled, leaves none (no fallback).
    store.put(FleetHost("h2", "unix:/run/vox/h2.sock", enabled=False))
    assert await hosts.usable(later + timedelta(seconds=10)) == {"h1": "http://10.0.1.1:8000"}
    store.put(FleetHost("h1", "http://10.0.1.1:8000", enabled=False))
    assert await hosts.usable(later + timedelta(seconds=20)) == {}
    assert told == [
        {"h1": "http://10.0.0.1:8000"},
        {"h1": "http://10.0.1.1:8000", "h2": "unix:/run/vox/h2.sock"},
        {"h1": "http://10.0.1.1:8000"},
        {},
    ]

    # Emptied again: back to the settings.
    for key in ("h1", "h2", "h3"):
        assert store.delete(key)
    assert await hosts.usable(later + timedelta(seconds=30)) == {"h1": "http://10.0.0.1:8000"}


async def test_an_unreadable_fleet_host_store_keeps_the_last_list() -> None:
    hosts = FleetHostList(
        Unreadable(),
        {"h1": "http://10.0.0.1:8000"},
        StoreCalls(unavailable=(ConnectionFailure,)),
    )
    assert await hosts.usable(datetime(2024, 6, 5, 12, tzinfo=UTC)) == {
        "h1": "http://10.0.0.1:8000"
    }


async def test_the_dialler_plans_and_attaches_only_on_enabled_hosts(shop: Shop) -> None:
    world: World = new_world()
    world.add_contacts(20)
    await world.add_workers(2, host="h1")
    await world.add_workers(3, host="h2")
    await world.add_workers(4, host="h3")
    store = MongoFleetHosts(shop.db)
    store.put(FleetHost("h1", "http://10.0.1.1:8000"))
    store.put(FleetHost("h2", "http://10.0.1.2:8000", enabled=False))
    # h3 reports slots but is not in the list at all.
    stores = StoreCalls(offload=True, unavailable=(ConnectionFailure,))
    hosts = FleetHostList(store, {"h3": "http://10.0.1.3:8000"}, stores)
    dialler = world.dialler("d1", fleet_hosts=hosts, stores=stores)

    report = await dialler.tick(world.clock.now())
    await dialler.wait_idle()

    assert dialler.failures == []
    assert report.pool == 2
    assert report.leased == {"c1": 2}
    assert [order for _, order in world.fleet.requests] == [("h1",), ("h1",)]


# -- trunk channels across diallers ----------------------------------------------------------------


def two_shards(world: World) -> tuple[str, str]:
    """A campaign in each of two shards, on one trunk, with plenty of contacts each."""
    ids = [f"camp-{i}" for i in range(20)]
    zero = next(key for key in ids if shard_of(key, 2) == 0)
    one = next(key for key in ids if shard_of(key, 2) == 1)
    world.campaigns.put(attrs.evolve(world.campaign, state=CampaignState.PAUSED))
    for n, key in enumerate((zero, one)):
        campaign = attrs.evolve(make_campaign(), id=key)
        world.campaigns.put(campaign)
        for contact in world.add_contacts(10, start=100 * n):
            world.leases.add(attrs.evolve(contact, id=f"{key}-{contact.id}", campaign_id=key))
    return zero, one


async def test_two_diallers_share_a_trunks_channels(client: Redis, prefix: str) -> None:
    world: World = new_world()
    two_shards(world)
    await world.add_workers(20)
    trunks = TrunkTable(Trunk("trunk1", "t1", "trunk1", "ST_trunk1", cps=100.0, channels=3))
    diallers = [
        world.dialler(
            f"d{shard}",
            shard=str(shard),
            shards=2,
            trunks=trunks,
            channels=RedisTrunkChannels(client, prefix),
            channel_ttl=timedelta(seconds=1),
        )
        for shard in (0, 1)
    ]

    # Both plan at once, each seeing all three channels free: the claims let three calls out.
    reports = await asyncio.gather(*(d.tick(world.clock.now()) for d in diallers))
    for dialler in diallers:
        await dialler.wait_idle()
        assert dialler.failures == []
    assert all(report.leader for report in reports)
    assert len(world.telephony.placed) == 3
    assert sum(d.in_flight for d in diallers) == 3
    given_back = sum(r.leased.get(c, 0) for r in reports for c in r.leased) - 3
    assert given_back == sum(
        d.metrics.registry.get_sample_value("vox_dialler_trunk_channels_full_total") or 0.0
        for d in diallers
    )
    channels = RedisTrunkChannels(client, prefix)
    assert await channels.in_use(["trunk1"]) == {"trunk1": 3}

    # Next tick, both plan with every dialler's calls counted: nobody dials.
    world.advance(2)
    await world.beat_all()
    for dialler in diallers:
        report = await dialler.tick(world.clock.now())
        await dialler.wait_idle()
        assert sum(report.planned.values()) == 0
    assert len(world.telephony.placed) == 3
    # Ticks renew the holds: they outlast the channel TTL while the calls last.
    await asyncio.sleep(0.6)
    for dialler in diallers:
        await dialler.tick(world.clock.now())
    await asyncio.sleep(0.6)
    assert await channels.in_use(["trunk1"]) == {"trunk1": 3}

    # One dialler dies with its calls: within the channel TTL its channels are free again, and
    # the other dialler (alone now, all in shard 1's campaign) uses them.
    dead, alive = diallers if diallers[0].in_flight else diallers[::-1]
    left = dead.in_flight
    assert left > 0
    deadline = time.monotonic() + 5.0
    while len(world.telephony.placed) < 3 + left and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        await alive.tick(world.clock.now())
        await alive.wait_idle()
        assert alive.failures == []
        assert (await channels.in_use(["trunk1"]))["trunk1"] <= 3
    assert len(world.telephony.placed) == 3 + left
    assert alive.in_flight == 3
    assert await channels.in_use(["trunk1"]) == {"trunk1": 3}


class Frozen:
    """A dialler's telephony while its process is frozen (SIGSTOP, a long GC pause): each dial
    is sent and then hangs, until `thaw` ends it unanswered."""

    def __init__(self) -> None:
        self.requests: list[DialRequest] = []
        self._thawed = asyncio.Event()

    async def place_call(self, request: DialRequest) -> DialResult:
        self.requests.append(request)
        await self._thawed.wait()
        return DialResult(request.call_id, None, Disposition.NO_ANSWER)

    async def hang_up(self, call_id: str, room: str) -> None:
        raise AssertionError(f"a frozen dialler hung up {call_id}")

    def thaw(self) -> None:
        self._thawed.set()


async def test_a_take_over_frees_the_channels_of_the_calls_it_closes_out_at_once(
    client: Redis, prefix: str
) -> None:
    world: World = new_world()
    zero, one = two_shards(world)
    other = world.campaigns.get(one)
    assert other is not None
    world.campaigns.put(attrs.evolve(other, max_concurrency=1))
    await world.add_workers(10)
    trunks = TrunkTable(Trunk("trunk1", "t1", "trunk1", "ST_trunk1", cps=100.0, channels=3))
    channels = RedisTrunkChannels(client, prefix)
    lock = RedisLeaderLock(client, prefix)
    frozen = Frozen()

    def dialler(owner: str, shard: int, **overrides: object) -> Dialler:
        options: dict[str, object] = {
            "shard": str(shard),
            "shards": 2,
            "trunks": trunks,
            "lock": lock,
            "channels": channels,
            # Far longer than the test: without the take-over freeing them, the dead leader's
            # channels would stay taken throughout.
            "channel_ttl": timedelta(seconds=30),
            "leader_ttl": LEADER_TTL,
        }
        options.update(overrides)
        return world.dialler(owner, **options)

    # Shard 1's leader shares the trunk: one call, answered and on a worker.
    neighbour = dialler("n1", 1)
    await neighbour.tick(world.clock.now())
    await neighbour.wait_idle()
    (neighbours_call,) = [placed.request.call_id for placed in world.telephony.placed]
    # Shard 0's leader takes the other two channels with two dials, then freezes mid-ring.
    dead = dialler("d1", 0, telephony=frozen)
    standby = dialler("d2", 0)
    assert (await dead.tick(world.clock.now())).leased == {zero: 2}
    assert not (await standby.tick(world.clock.now())).leader
    deadline = time.monotonic() + 5.0
    while len(frozen.requests) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    dead_calls = {request.call_id for request in frozen.requests}
    assert len(dead_calls) == 2
    assert await channels.in_use(["trunk1"]) == {"trunk1": 3}

    # The frozen leader's lock runs out; the standby takes shard 0 over and, in the same tick,
    # dials on the two channels the calls it closed out held.
    await asyncio.sleep(LEADER_TTL.total_seconds() + 0.2)
    world.advance(1)
    await world.beat_all()
    report = await standby.tick(world.clock.now())
    await standby.wait_idle()

    assert report.leader
    assert standby.failures == []
    assert report.leased == {zero: 2}
    assert not standby.metrics.registry.get_sample_value("vox_dialler_trunk_channels_full_total")
    assert set(world.telephony.hung_up) == dead_calls
    closed = [c for c in world.leases.contacts() if c.last_disposition is Disposition.FAILED]
    assert len(closed) == 2
    new_calls = {p.request.call_id for p in world.telephony.placed} - {neighbours_call}
    assert len(new_calls) == 2
    held = set(await client.zrange(channels_key(prefix, "trunk1"), 0, -1))
    # Exactly the closed calls' channels were freed: the other shard's call keeps its own.
    assert held == {neighbours_call, *new_calls}
    assert standby.in_flight == 2

    # A renewal the frozen leader sent before it froze arrives now: it takes nothing back.
    await channels.hold("trunk1", sorted(dead_calls), timedelta(seconds=30))
    assert await channels.in_use(["trunk1"]) == {"trunk1": 3}
    # Thawed, the old leader finds its dials' contacts taken over and lets them go.
    frozen.thaw()
    await dead.wait_idle()
    assert dead.failures == []
    assert not (await dead.tick(world.clock.now())).leader
    assert dead.in_flight == 0
    assert await channels.in_use(["trunk1"]) == {"trunk1": 3}
    assert {c.state for c in world.leases.contacts() if c.lease and c.lease.leader_token} == {
        ContactState.ATTACHED
    }
