"""The fleet worker's composition root: one Litestar app per process, one call slot per app.

Run one per slot under Granian, each on its own Unix socket (docs/fleet.md):

    granian --interface asgi --workers 1 --uds /tmp/voxcore_1.sock --uds-permissions 0660 \\
        --factory apps.fleet.main:create_app
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig

from apps.fleet.attach import attach
from apps.fleet.auth import internal_routes
from apps.fleet.calls import CallRunner, Configured, Reporting
from apps.fleet.configs import ConfigBook
from apps.fleet.deps import Deps, build_deps
from apps.fleet.drain import Drain, stop_worker
from apps.fleet.errors import EXCEPTION_HANDLERS
from apps.fleet.health import Started, health
from apps.fleet.livekit_routes import livekit_dialout, livekit_widget
from apps.fleet.media import media_stream
from apps.fleet.metrics import FleetMetrics, metrics
from apps.fleet.recordings import RecordingArchive
from apps.fleet.reports import ReportOutbox
from apps.fleet.rooms import LiveKitCalls
from apps.fleet.settings import Backend, Settings
from apps.fleet.slot import SlotGuard, report_slot
from apps.fleet.version import VERSION

log = logging.getLogger(__name__)

CANCEL_WAIT_S = 5.0
"""At shutdown, how long a cancelled background task may take to end."""

REPORT_GRACE_S = 5.0
"""At shutdown, how long the reports in flight may take to reach the API."""

SHUTDOWN_GRACE_S = 60.0
"""At shutdown without a drain (SIGINT), how long the call that was cut may take to keep its
recording (upload retries, then the spool) before the worker exits anyway."""


def create_app(
    settings: Settings | None = None,
    deps: Deps | None = None,
    stop: Callable[[], None] = stop_worker,
) -> Litestar:
    """The worker's app. `settings` default to the environment's, `deps` to the adapters they
    ask for; `stop` is how a finished drain stops the process (Granian's SIGINT)."""
    settings = settings or Settings.from_env()
    deps = deps or build_deps(settings)
    fleet_metrics = FleetMetrics()
    guard = SlotGuard(settings.host, settings.worker, deps.clock, deps.release_memory)
    archive = RecordingArchive(
        deps.recordings,
        Path(settings.spool),
        fleet_metrics,
        attempts=settings.upload_attempts,
        backoff_s=settings.upload_backoff_s,
    )
    outbox = ReportOutbox(
        deps.reports,
        Path(settings.reports_spool),
        deps.clock,
        fleet_metrics,
        attempts=settings.report_attempts,
        backoff_s=settings.report_backoff_s,
        max_age_s=settings.report_max_age_s,
    )
    runner = CallRunner(
        guard,
        deps.pipeline,
        archive,
        fleet_metrics,
        media_wait_s=settings.media_wait_s,
        max_call_s=settings.max_call_s,
        retry_after_s=settings.retry_after_s,
        reporting=Reporting(outbox, deps.clock, f"{settings.host}/{settings.worker}"),
        configured=None
        if deps.configs is None
        else Configured(
            ConfigBook(deps.configs, deps.clock, settings.config_ttl_s), deps.pipeline_for
        ),
    )
    rooms = LiveKitCalls(runner, deps.livekit, deps.join_room, settings)
    drain = Drain(guard, stop)
    started = Started(time.monotonic())

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        signals = drain.install(loop)
        heartbeat = loop.create_task(
            report_slot(
                guard,
                deps.slots,
                settings.heartbeat_s,
                settings.slot_ttl_s,
                lambda _: fleet_metrics.heartbeat_failures.inc(),
            )
        )
        resend = loop.create_task(archive.resend_every(settings.recording_resend_s))
        resend_reports = loop.create_task(outbox.resend_every(settings.report_resend_s))
        if settings.api_token is None and settings.backend is Backend.REAL:
            log.warning("VOX_FLEET_API_TOKEN is not set: default script, reports kept in spool")
        if settings.api_token is None:
            log.warning(
                "VOX_FLEET_API_TOKEN is not set: /attach and /livekit/* take calls from anyone"
            )
        log.info("worker %s on %s ready at %s", settings.worker, settings.host, settings.socket)
        # Importing and compiling the worker's modules left freed memory behind.
        deps.release_memory()
        try:
            yield
        finally:
            log.info("worker %s stopping", settings.worker)
            if signals:
                drain.uninstall(loop)
            guard.drain()
            try:
                async with asyncio.timeout(SHUTDOWN_GRACE_S):
                    await guard.wait_free()
            except TimeoutError:
                log.error("stopping with call %s still running", guard.slot.call_id)
            # Every report is spooled before it is sent: one still in flight after this wait
            # is sent again at the next start.
            await outbox.settle(REPORT_GRACE_S)
            await _cancel({"heartbeat": heartbeat, "resend": resend, "reports": resend_reports})
            await _remove_slot(deps, settings)
            for close in deps.closers:
                await close()
            log.info("worker %s stopped", settings.worker)

    return Litestar(
        route_handlers=[attach, media_stream, health, metrics, livekit_dialout, livekit_widget],
        dependencies={
            "settings": Provide(lambda: settings, sync_to_thread=False),
            "guard": Provide(lambda: guard, sync_to_thread=False),
            "runner": Provide(lambda: runner, sync_to_thread=False),
            "rooms": Provide(lambda: rooms, sync_to_thread=False),
            "fleet_metrics": Provide(lambda: fleet_metrics, sync_to_thread=False),
            "started": Provide(lambda: started, sync_to_thread=False),
        },
        guards=[internal_routes(settings.api_token)],
        request_max_body_size=settings.max_body_bytes,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(title="VoxBridge fleet worker", version=VERSION),
        state=State({"drain": drain, "guard": guard, "runner": runner}),
    )


async def _remove_slot(deps: Deps, settings: Settings) -> None:
    try:
        await deps.slots.remove(settings.host, settings.worker)
    except Exception as error:
        # The slot then expires with its last heartbeat's TTL: a few seconds of a draining
        # entry, which the dialler does not count.
        log.warning("could not remove slot %s/%s: %r", settings.host, settings.worker, error)


async def _cancel(tasks: dict[str, asyncio.Task[Any]]) -> None:
    """Cancel the worker's background tasks and wait for them, but not forever: a task that
    does not end within `CANCEL_WAIT_S` (a client library that swallowed the cancellation) is
    logged and left behind, so the worker still stops."""
    for task in tasks.values():
        task.cancel()
    _, pending = await asyncio.wait(tasks.values(), timeout=CANCEL_WAIT_S)
    for name, task in tasks.items():
        if task in pending:
            log.error("background task %s did not stop when cancelled: %r", name, task)
        elif not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", name, exc_info=task.exception())
