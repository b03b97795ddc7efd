"""The dialler's composition root: a tiny Litestar app whose lifespan runs the tick loop.

The loop is the process's work; the app only answers `/health` and `/metrics` beside it. Run
one process (Granian's default of one worker; more would only stand by on the leader lock):

    granian --interface asgi --host 127.0.0.1 --port 8090 --factory apps.dialler.main:create_app
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import attrs
import httpx
import pymongo
from litestar import Litestar, Response, get
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.exposition import generate_latest
from pymongo.errors import ConnectionFailure
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from apps.dialler.abandon import abandon_messages
from apps.dialler.fleet_hosts import FleetHostList
from apps.dialler.loop import Dialler
from apps.dialler.settings import Settings
from apps.dialler.stores import StoreCalls
from voxcore_adapters import mongo, redis
from voxcore_adapters.clock import UtcClock
from voxcore_adapters.fleet.http import AttachMedia, CarrierStream, HttpFleetClient, internal_auth
from voxcore_adapters.livekit import LiveKitSettings, LiveKitTelephony
from voxcore_adapters.livekit.room_media import LiveKitRoomMedia
from voxcore_adapters.mongo.documents import Document
from voxcore_adapters.sim import SimTelephony
from voxcore_adapters.sim.settings import SimSettings
from voxcore_adapters.tasks import cancel_and_wait
from voxcore_domain.ports import SlotRegistry

log = logging.getLogger(__name__)


@attrs.frozen
class Wired:
    dialler: Dialler
    closers: tuple[Callable[[], Awaitable[None]], ...] = ()


def build(settings: Settings) -> Wired:
    """The dialler on the real adapters the settings point at."""
    timeout_ms = int(settings.store_timeout_s * 1000)
    mongo_client: pymongo.MongoClient[Document] = pymongo.MongoClient(
        settings.mongo_url,
        tz_aware=True,
        tzinfo=UTC,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
    )
    db = mongo_client.get_default_database("voxbridge")
    mongo.ensure_indexes(db)
    client = redis.connect(settings.redis_url)
    slots = redis.RedisSlotRegistry(client, settings.redis_prefix)
    telephony = _telephony(settings, slots)
    # The attach budget bounds each attempt as a whole; this only stops one host eating it all.
    http = httpx.AsyncClient(
        timeout=httpx.Timeout(settings.attach_budget_s / 2),
        headers=internal_auth(settings.internal_token),
    )
    fleet = HttpFleetClient(settings.fleet_hosts, http, attach_media(settings))
    # pymongo blocks for a round trip: off the loop. A store that cannot be reached keeps
    # the writes of calls in progress until it is back.
    stores = StoreCalls(offload=True, unavailable=(ConnectionFailure,))
    # The API's fleet-host list, the settings' hosts while it has none.
    fleet_hosts = FleetHostList(
        mongo.MongoFleetHosts(db),
        settings.fleet_hosts,
        stores,
        settings.fleet_hosts_ttl,
        on_change=fleet.use_hosts,
    )
    dialler = Dialler(
        campaigns=mongo.MongoCampaigns(db),
        leases=mongo.MongoContactLeases(db),
        slots=slots,
        lock=redis.RedisLeaderLock(client, settings.redis_prefix),
        telephony=telephony,
        fleet=fleet,
        call_log=mongo.MongoCallLog(db),
        clock=UtcClock(),
        owner=settings.owner,
        shard=settings.shard,
        leader_ttl=settings.leader_ttl,
        lease_ttl=settings.lease_ttl,
        tick_s=settings.loop_interval_s,
        attach_budget_s=settings.attach_budget_s,
        staleness=settings.slot_staleness,
        tenants=mongo.MongoTenants(db),
        trunks=mongo.MongoTrunks(db),
        pause=redis.RedisPauseSwitch(client, settings.redis_prefix),
        shards=settings.shards,
        # One calls-per-second bucket per trunk for every dialler of every shard.
        trunk_limiter=redis.RedisRateLimiter(client, settings.redis_prefix),
        stores=stores,
        fleet_hosts=fleet_hosts,
        # Each trunk's channels counted across every dialler of every shard.
        channels=redis.RedisTrunkChannels(client, settings.redis_prefix),
        channel_ttl=settings.channel_ttl,
        unavailable=(RedisConnectionError, RedisTimeoutError),
        rooms=telephony,
        abandon_messages=abandon_messages(settings, telephony),
        outcome_grace=settings.outcome_grace,
    )

    async def close_mongo() -> None:
        db.client.close()

    closers = (telephony.aclose, http.aclose, client.aclose, close_mongo)
    return Wired(dialler, closers)


def _livekit(settings: Settings) -> LiveKitSettings:
    return LiveKitSettings(
        url=settings.livekit_url,
        api_key=settings.livekit_api_key,
        api_secret=settings.livekit_api_secret,
    )


def _telephony(settings: Settings, slots: SlotRegistry) -> LiveKitTelephony | SimTelephony:
    """The telephony adapter `VOX_DIALLER_TELEPHONY` names."""
    if settings.telephony == "sim":
        return SimSettings.from_env().telephony(slots)
    return LiveKitTelephony(_livekit(settings))


def attach_media(settings: Settings) -> AttachMedia:
    """Where a worker finds an answered call's audio: the LiveKit room the call was dialled
    into (with a join token signed by the dialler's key), or, on the simulated carrier, the
    media stream the carrier opens to the worker (`VOX_DIALLER_MEDIA_CARRIER`'s frames)."""
    if settings.telephony == "sim":
        return CarrierStream(settings.media_carrier)
    return LiveKitRoomMedia(_livekit(settings))


async def run_loop(dialler: Dialler, interval_s: float, clock: Callable[[], datetime]) -> None:
    """Tick every `interval_s` on the monotonic clock; a slow tick shortens the next wait
    rather than drifting, and a failed tick is logged and the next one tried: Redis or Mongo
    being down for a while must not end the process. A tick longer than `interval_s` is
    followed by the next one at once: ticks never overlap and missed ones are not made up, so
    a slow store never piles ticks up (`Dialler.tick_overruns` counts such ticks)."""
    loop = asyncio.get_running_loop()
    next_at = loop.time()
    while True:
        try:
            await dialler.tick(clock())
        except Exception:
            # Each tick starts from the stores afresh, so the next one is the retry.
            log.exception("tick failed")
            dialler.metrics.ticks.labels("failed").inc()
        next_at = max(next_at + interval_s, loop.time())
        await asyncio.sleep(next_at - loop.time())


def create_app(settings: Settings | None = None, wired: Wired | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    wired = wired or build(settings)
    dialler = wired.dialler

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        # Everything alive now (modules, the wiring, the adapters) lives as long as the process:
        # frozen, a full collection during a tick no longer walks it (100-250 ms pauses were
        # seen at a tick's p95 and max). Garbage is collected first so none is kept forever.
        gc.collect()
        gc.freeze()
        task = asyncio.get_running_loop().create_task(
            run_loop(dialler, settings.loop_interval_s, lambda: datetime.now(UTC))
        )
        log.info("dialler %s on shard %s started", settings.owner, settings.shard)
        try:
            yield
        finally:
            await cancel_and_wait(task)
            await dialler.close()
            for close in wired.closers:
                await close()
            # Back to the collector: in a process that builds more than one app (the tests),
            # what this one wired must be freeable once it has stopped.
            gc.unfreeze()

    @get("/health", sync_to_thread=False)
    def health() -> dict[str, object]:
        return {
            "role": "leader" if dialler.leader else "standby",
            "owner": dialler.owner,
            "shard": dialler.shard,
            "token": dialler.token,
            "last_tick_at": dialler.last_tick_at.isoformat() if dialler.last_tick_at else None,
            "tick_duration_s": dialler.last_tick_s,
            "tick_overruns": dialler.tick_overruns,
            "in_flight_calls": dialler.in_flight,
            "buffered_writes": dialler.buffered_writes,
        }

    @get("/metrics", sync_to_thread=False)
    def metrics() -> Response[bytes]:
        return Response(generate_latest(dialler.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return Litestar(route_handlers=[health, metrics], lifespan=[lifespan])
