"""The adapters the API runs on, chosen in one place: MongoDB and Redis from the settings, or
in-process fakes (the `memory` backend, and the tests)."""

from __future__ import annotations

import random
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, timedelta
from typing import Any

import anyio.to_thread
import attrs
import httpx
import pymongo
from litestar import Litestar
from pymongo.database import Database
from redis.asyncio import Redis

from apps.api.settings import Backend, Settings
from voxcore_adapters.clock import UtcClock
from voxcore_adapters.fakes.agents import InMemoryAgents
from voxcore_adapters.fakes.api_keys import InMemoryApiKeys
from voxcore_adapters.fakes.call_log import InMemoryCallLog
from voxcore_adapters.fakes.call_reports import InMemoryCallReports
from voxcore_adapters.fakes.campaign_edits import InMemoryCampaignEdits
from voxcore_adapters.fakes.campaigns import InMemoryCampaigns
from voxcore_adapters.fakes.contact_directory import InMemoryContactDirectory
from voxcore_adapters.fakes.contact_import import InMemoryContactImport
from voxcore_adapters.fakes.dnc import InMemoryDncList
from voxcore_adapters.fakes.inbound import InMemoryEventDedupe, InMemoryInboundNumbers
from voxcore_adapters.fakes.media_fakes import InMemoryRecordingStore
from voxcore_adapters.fakes.redis_fakes import (
    InMemoryCallEvents,
    InMemoryRateLimiter,
    InMemoryRuntimeConfigCache,
    InMemorySlotRegistry,
)
from voxcore_adapters.fakes.tenants import InMemoryTenants
from voxcore_adapters.fakes.trunks import InMemoryFleetHosts, InMemoryTrunks
from voxcore_adapters.fleet.http import internal_auth
from voxcore_adapters.mongo.agents import MongoAgents
from voxcore_adapters.mongo.api_keys import MongoApiKeys
from voxcore_adapters.mongo.call_log import MongoCallLog
from voxcore_adapters.mongo.call_reports import MongoCallReports
from voxcore_adapters.mongo.campaign_edits import MongoCampaignEdits
from voxcore_adapters.mongo.campaigns import MongoCampaigns
from voxcore_adapters.mongo.contact_directory import MongoContactDirectory
from voxcore_adapters.mongo.contact_import import MongoContactImport
from voxcore_adapters.mongo.dnc import MongoDncList
from voxcore_adapters.mongo.documents import Document
from voxcore_adapters.mongo.inbound import MongoInboundNumbers
from voxcore_adapters.mongo.leases import MongoContactLeases
from voxcore_adapters.mongo.schema import ensure_indexes
from voxcore_adapters.mongo.tenants import MongoTenants
from voxcore_adapters.mongo.trunks import MongoFleetHosts, MongoTrunks
from voxcore_adapters.redis.cancel_guard import guard
from voxcore_adapters.redis.config_cache import RedisRuntimeConfigCache
from voxcore_adapters.redis.dedupe import RedisEventDedupe
from voxcore_adapters.redis.events import RedisCallEvents
from voxcore_adapters.redis.near_cache import NearRuntimeConfigCache
from voxcore_adapters.redis.ratelimit import RedisRateLimiter
from voxcore_adapters.redis.slots import RedisSlotRegistry
from voxcore_adapters.s3 import S3Connection, S3RecordingStore
from voxcore_domain.lease import InMemoryContactLeases
from voxcore_domain.ports import (
    Agents,
    ApiKeys,
    CallEvents,
    CallHistory,
    CallRecordings,
    CallReports,
    CampaignEdits,
    CampaignStore,
    Clock,
    ContactDirectory,
    ContactImport,
    ContactLeases,
    DncList,
    EventDedupe,
    FleetHosts,
    InboundNumbers,
    RateLimiter,
    RuntimeConfigCache,
    SlotRegistry,
    Tenants,
    Trunks,
)

HealthCheck = Callable[[], Awaitable[object]]
"""Returns when its dependency answers, raises when it does not."""


@attrs.frozen
class Deps:
    """Every adapter the API's handlers use."""

    tenants: Tenants
    api_keys: ApiKeys
    campaigns: CampaignStore
    campaign_edits: CampaignEdits
    contact_import: ContactImport
    contacts: ContactDirectory
    dnc: DncList
    rate_limiter: RateLimiter
    agents: Agents
    config_cache: RuntimeConfigCache
    """Agents' runtime configs as fleet workers read them."""
    clock: Clock = attrs.field(factory=UtcClock)
    random_bytes: Callable[[int], bytes] = secrets.token_bytes
    """Where ids and key secrets come from: cryptographic outside tests."""
    checks: Mapping[str, HealthCheck] = attrs.field(factory=dict)
    """What `/health` asks, by name."""
    closers: Sequence[Callable[[], Awaitable[None]]] = ()
    """Run at shutdown, in order."""
    background: Sequence[Callable[[], Coroutine[Any, Any, None]]] = ()
    """Run for the life of the app (cancelled at shutdown), e.g. the config cache's watch."""
    call_log: CallHistory = attrs.field(factory=InMemoryCallLog)
    """Call attempts: the dialler writes them, the fleet's reports grow them."""
    call_reports: CallReports = attrs.field(factory=InMemoryCallReports)
    call_events: CallEvents = attrs.field(factory=lambda: InMemoryCallEvents(UtcClock()))
    """Each campaign's live event stream, which the console and the dialler read."""
    leases: ContactLeases = attrs.field(factory=lambda: InMemoryContactLeases(rng=random.Random()))
    """Closes a contact when its call ends, fenced by the dialler's lease."""
    recordings: CallRecordings | None = None
    """Where recordings are, for presigned URLs; None when the API has no S3 credentials."""
    slots: SlotRegistry = attrs.field(factory=lambda: InMemorySlotRegistry(UtcClock()))
    """The fleet's slots, for campaign stats."""
    trunks: Trunks = attrs.field(factory=InMemoryTrunks)
    fleet_hosts: FleetHosts = attrs.field(factory=InMemoryFleetHosts)
    inbound_numbers: InboundNumbers = attrs.field(factory=InMemoryInboundNumbers)
    event_dedupe: EventDedupe = attrs.field(factory=lambda: InMemoryEventDedupe(UtcClock()))
    """LiveKit webhooks' event ids acted on."""
    fleet_http: httpx.AsyncClient = attrs.field(factory=httpx.AsyncClient)
    """The client inbound calls are attached to fleet hosts with (closed at shutdown)."""

    def new_id(self) -> str:
        """A fresh object id: 128 random bits, so ids cannot be guessed or enumerated."""
        return self.random_bytes(16).hex()

    @asynccontextmanager
    async def lifespan(self, _: Litestar) -> AsyncIterator[None]:
        try:
            async with anyio.create_task_group() as group:
                for run in self.background:
                    group.start_soon(run)
                yield
                group.cancel_scope.cancel()
        finally:
            for close in (*self.closers, self.fleet_http.aclose):
                await close()


def memory_deps(
    clock: Clock | None = None, random_bytes: Callable[[int], bytes] = secrets.token_bytes
) -> Deps:
    """Deps over in-process fakes: nothing to start, everything lost at exit."""
    clock = clock or UtcClock()
    # The seed only orders lease tokens, which the API never hands out.
    leases = InMemoryContactLeases(rng=random.Random())
    campaigns = InMemoryCampaigns()
    return Deps(
        tenants=InMemoryTenants(),
        api_keys=InMemoryApiKeys(),
        campaigns=campaigns,
        campaign_edits=InMemoryCampaignEdits(campaigns),
        contact_import=InMemoryContactImport(leases),
        contacts=InMemoryContactDirectory(leases),
        dnc=InMemoryDncList(),
        rate_limiter=InMemoryRateLimiter(clock),
        agents=InMemoryAgents(),
        config_cache=InMemoryRuntimeConfigCache(clock),
        clock=clock,
        random_bytes=random_bytes,
        call_events=InMemoryCallEvents(clock),
        leases=leases,
        recordings=InMemoryRecordingStore(clock=clock),
        slots=InMemorySlotRegistry(clock),
        event_dedupe=InMemoryEventDedupe(clock),
    )


def mongo_database(settings: Settings) -> Database[Document]:
    """The settings' database, with every store's indexes ensured: blocks until MongoDB answers,
    so an API that cannot reach its database at start fails to start."""
    timeout_ms = int(settings.store_timeout_s * 1000)
    client: pymongo.MongoClient[Document] = pymongo.MongoClient(
        settings.mongo_url,
        tz_aware=True,
        tzinfo=UTC,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=max(timeout_ms, 30_000),
    )
    db = (
        client.get_database(settings.mongo_database)
        if settings.mongo_database
        else client.get_default_database("voxbridge")
    )
    ensure_indexes(db)
    MongoApiKeys(db).ensure_indexes()
    MongoContactDirectory(db).ensure_indexes()
    return db


def redis_client(settings: Settings) -> Redis:
    """The API's Redis client: every command bounded by the store timeout, on connections that
    re-raise a cancellation redis-py's write lost (`voxcore_adapters.redis.cancel_guard`), so a
    request's end or a health check's timeout stops its Redis call."""
    client: Redis = Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_timeout=settings.store_timeout_s,
        socket_connect_timeout=settings.store_timeout_s,
    )
    guard(client.connection_pool)
    return client


def real_deps(settings: Settings) -> Deps:
    """Deps over MongoDB and Redis at the settings' URLs."""
    db = mongo_database(settings)
    redis = redis_client(settings)

    config_cache: RuntimeConfigCache = RedisRuntimeConfigCache(redis, settings.redis_prefix)
    background: tuple[Callable[[], Coroutine[Any, Any, None]], ...] = ()
    if settings.runtime_config_near_ttl_s > 0:
        near = NearRuntimeConfigCache(
            redis,
            settings.redis_prefix,
            near_ttl=timedelta(seconds=settings.runtime_config_near_ttl_s),
        )
        config_cache, background = near, (near.watch,)

    async def ping_mongo() -> object:
        # pymongo blocks; its own server-selection timeout bounds the wait.
        return await anyio.to_thread.run_sync(db.command, "ping", abandon_on_cancel=True)

    async def ping_redis() -> object:
        return await redis.ping()

    async def close_mongo() -> None:
        db.client.close()

    return Deps(
        tenants=MongoTenants(db),
        api_keys=MongoApiKeys(db),
        campaigns=MongoCampaigns(db),
        campaign_edits=MongoCampaignEdits(db),
        contact_import=MongoContactImport(db),
        contacts=MongoContactDirectory(db),
        dnc=MongoDncList(db),
        rate_limiter=RedisRateLimiter(redis, settings.redis_prefix),
        agents=MongoAgents(db),
        config_cache=config_cache,
        background=background,
        checks={"mongo": ping_mongo, "redis": ping_redis},
        closers=(redis.aclose, close_mongo),
        call_log=MongoCallLog(db),
        call_reports=MongoCallReports(db),
        call_events=RedisCallEvents(redis, settings.redis_prefix),
        leases=MongoContactLeases(db),
        recordings=s3_recordings(settings),
        slots=RedisSlotRegistry(redis, settings.redis_prefix),
        trunks=MongoTrunks(db),
        fleet_hosts=MongoFleetHosts(db),
        inbound_numbers=MongoInboundNumbers(db),
        event_dedupe=RedisEventDedupe(redis, settings.redis_prefix),
        fleet_http=fleet_client(settings),
    )


def s3_recordings(settings: Settings) -> CallRecordings | None:
    """The recordings bucket, when the settings give S3 credentials."""
    if not (settings.s3_access_key and settings.s3_secret_key):
        return None
    connection = S3Connection(
        url=settings.s3_url,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        region=settings.s3_region,
    )
    return S3RecordingStore(connection, settings.s3_bucket, public_url=settings.s3_public_url)


def fleet_client(settings: Settings) -> httpx.AsyncClient:
    """The client inbound calls are attached with: one fleet host's answer is bounded, and the
    fleet's workers are shown the internal token."""
    return httpx.AsyncClient(
        timeout=settings.fleet_attach_timeout_s, headers=internal_auth(settings.internal_token)
    )


def build_deps(settings: Settings) -> Deps:
    """The deps the settings ask for."""
    if settings.backend is Backend.MEMORY:
        return attrs.evolve(memory_deps(), fleet_http=fleet_client(settings))
    return real_deps(settings)
