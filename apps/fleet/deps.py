"""The adapters a fleet worker runs on, chosen in one place: Redis and S3 from the settings, or
in-process fakes (the `memory` backend, demos and tests)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

import attrs

from apps.fleet.settings import Backend, Settings
from voxcore_adapters.fakes.media_fakes import InMemoryRecordingStore
from voxcore_adapters.fakes.redis_fakes import InMemorySlotRegistry
from voxcore_adapters.livekit.room_leg import RoomJoiner, join_room
from voxcore_adapters.livekit.telephony import LiveKitTelephony
from voxcore_adapters.redis import RedisSlotRegistry, connect
from voxcore_adapters.s3 import S3Connection, S3RecordingStore
from voxcore_adapters.voice.scripted import ScriptedAgent
from voxcore_adapters.voice.tones import ToneSynth
from voxcore_domain.ports import CallPipeline, CallRecordings, Clock, WorkerSlots
from voxcore_domain.voice.script import Script


class UtcClock:
    """The system's clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@attrs.frozen
class Deps:
    """Every adapter the worker uses."""

    slots: WorkerSlots
    recordings: CallRecordings
    pipeline: CallPipeline
    clock: Clock = attrs.field(factory=UtcClock)
    closers: Sequence[Callable[[], Awaitable[None]]] = ()
    """Run at shutdown, in order."""
    livekit: LiveKitTelephony | None = None
    """Rooms, dials and transfers on the configured LiveKit server; None without its key."""
    join_room: RoomJoiner = join_room
    """How the agent joins a call's LiveKit room (tests join a room without a server)."""


def default_pipeline() -> CallPipeline:
    """The deterministic scripted agent with its default script, speaking in tones. The agent's
    runtime config (its script and provider) replaces it once the worker fetches it."""
    return ScriptedAgent(Script(), ToneSynth())


def build_deps(settings: Settings) -> Deps:
    """The adapters `settings` ask for. Nothing connects yet: Redis on the first heartbeat, S3
    on the first upload, so a worker starts even while either is down."""
    clock = UtcClock()
    livekit_settings = settings.livekit
    livekit = None if livekit_settings is None else LiveKitTelephony(livekit_settings, clock=clock)
    livekit_closers = () if livekit is None else (livekit.aclose,)
    if settings.backend is Backend.MEMORY:
        return Deps(
            slots=InMemorySlotRegistry(clock),
            recordings=InMemoryRecordingStore(settings.s3_bucket, clock),
            pipeline=default_pipeline(),
            clock=clock,
            closers=livekit_closers,
            livekit=livekit,
        )
    redis = connect(settings.redis_url)
    # `Settings` requires both keys for the real backend; S3Connection refuses empty ones too.
    connection = S3Connection(
        url=settings.s3_url,
        access_key=settings.s3_access_key or "",
        secret_key=settings.s3_secret_key or "",
        region=settings.s3_region,
        timeout_s=settings.s3_timeout_s,
    )
    return Deps(
        slots=RedisSlotRegistry(redis, settings.redis_prefix),
        recordings=S3RecordingStore(connection, settings.s3_bucket),
        pipeline=default_pipeline(),
        clock=clock,
        closers=(redis.aclose, *livekit_closers),
        livekit=livekit,
    )
