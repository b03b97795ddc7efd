"""The adapters a fleet worker runs on, chosen in one place: Redis and S3 from the settings, or
in-process fakes (the `memory` backend, demos and tests)."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

import attrs

from apps.fleet.memory import release_soon
from apps.fleet.pipelines import Pipelines
from apps.fleet.settings import Backend, Settings
from voxcore_adapters.clock import UtcClock
from voxcore_adapters.fakes.fleet_api import InMemoryReportSender
from voxcore_adapters.fakes.media_fakes import InMemoryRecordingStore
from voxcore_adapters.fakes.redis_fakes import InMemorySlotRegistry
from voxcore_adapters.livekit.joining import RoomJoiner, join_room
from voxcore_adapters.voice.scripted import ScriptedAgent
from voxcore_adapters.voice.tones import ToneSynth
from voxcore_domain.ports import (
    AgentConfigs,
    CallPipeline,
    CallRecordings,
    Clock,
    ReportAnswer,
    ReportSender,
    ReportUndelivered,
    WorkerSlots,
)
from voxcore_domain.voice.agent_config import AgentConfig
from voxcore_domain.voice.report import WorkerReport
from voxcore_domain.voice.script import Script

if TYPE_CHECKING:
    from voxcore_adapters.livekit.telephony import LiveKitTelephony


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
    reports: ReportSender = attrs.field(factory=InMemoryReportSender)
    """Where call reports go: the API, or an in-memory list for the memory backend."""
    configs: AgentConfigs | None = None
    """Where agents' runtime configs come from; None: every call runs on `pipeline`."""
    pipeline_for: Callable[[AgentConfig], CallPipeline] = attrs.field(factory=Pipelines)
    """The pipeline a call runs on, from its agent's runtime config (its `provider`)."""
    release_memory: Callable[[], object] = release_soon
    """Run once the worker has started and whenever a call frees the slot: the memory that
    starting or the call freed goes back to the system (`apps.fleet.memory`)."""


class NoApi:
    """`ReportSender` of a worker without `VOX_FLEET_API_TOKEN`: nothing can reach the API, so
    every report stays in the spool until the worker starts with a token."""

    async def send(self, report: WorkerReport) -> ReportAnswer:
        raise ReportUndelivered("VOX_FLEET_API_TOKEN is not set: the report waits in the spool")


def default_pipeline() -> CallPipeline:
    """The deterministic scripted agent with its default script, speaking in tones. The agent's
    runtime config (its script and provider) replaces it once the worker fetches it."""
    return ScriptedAgent(Script(), ToneSynth())


def _without_httpx_cli() -> None:
    """httpx's package imports its command-line client (`httpx._main`, with click, rich and
    pygments: about 4 MB of a worker's memory) whenever those are installed, and Litestar's own
    command line installs them. A worker never runs it: with the module marked absent, httpx
    falls back to the stub `httpx.main` it has for installs without the CLI. No effect once
    httpx is imported."""
    # None in `sys.modules` is the import system's mark for a module that must not load;
    # typeshed types the mapping without it.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


def build_deps(settings: Settings) -> Deps:
    """The adapters `settings` ask for. Nothing connects yet: Redis on the first heartbeat, S3
    on the first upload, so a worker starts even while either is down.

    Client libraries are imported here, for the adapters these settings use only: the memory
    backend loads no Redis, S3 or HTTP client, and the real one loads the S3 client (`minio`) at
    its first upload (`S3RecordingsOnFirstUse`). LiveKit's SDKs wait for the first LiveKit call
    even with its key: `livekit-api` (with aiohttp and protobuf) for its first request
    (`voxcore_adapters.livekit.telephony`), the RTC SDK for the first room call
    (`apps.fleet.rooms`)."""
    clock = UtcClock()
    livekit_settings = settings.livekit
    livekit = None
    if livekit_settings is not None:
        from voxcore_adapters.livekit.telephony import LiveKitTelephony

        livekit = LiveKitTelephony(livekit_settings, clock=clock)
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
    from voxcore_adapters.redis import RedisSlotRegistry, connect
    from voxcore_adapters.s3 import S3Connection, S3RecordingsOnFirstUse

    redis = connect(settings.redis_url)
    # `Settings` requires both keys for the real backend; S3Connection refuses empty ones too.
    connection = S3Connection(
        url=settings.s3_url,
        access_key=settings.s3_access_key or "",
        secret_key=settings.s3_secret_key or "",
        region=settings.s3_region,
        timeout_s=settings.s3_timeout_s,
    )
    if settings.api_token is None:
        # Without the token the API refuses the worker: calls run on the default script and
        # their reports are kept until a start with the token sends them.
        return Deps(
            slots=RedisSlotRegistry(redis, settings.redis_prefix),
            recordings=S3RecordingsOnFirstUse(connection, settings.s3_bucket),
            pipeline=default_pipeline(),
            clock=clock,
            closers=(redis.aclose,),
            reports=NoApi(),
        )
    _without_httpx_cli()
    from voxcore_adapters.internal_api import ApiConnection, HttpAgentConfigs, HttpReportSender

    api = ApiConnection(settings.api_url, settings.api_token, timeout_s=settings.api_timeout_s)
    return Deps(
        slots=RedisSlotRegistry(redis, settings.redis_prefix),
        recordings=S3RecordingsOnFirstUse(connection, settings.s3_bucket),
        pipeline=default_pipeline(),
        clock=clock,
        closers=(redis.aclose, api.aclose, *livekit_closers),
        livekit=livekit,
        reports=HttpReportSender(api),
        configs=HttpAgentConfigs(api),
        pipeline_for=Pipelines(settings.realtime_api_key, settings.realtime_url),
    )
