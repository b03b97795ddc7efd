"""`GET /health`: the worker's slot, version and uptime."""

from __future__ import annotations

import time

import msgspec
from litestar import Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from apps.fleet.settings import Settings
from apps.fleet.slot import SlotGuard
from apps.fleet.version import VERSION


class SlotReport(msgspec.Struct, frozen=True):
    state: str
    """`idle`, `busy` or `draining`."""
    call_id: str | None
    busy_since: str | None
    """ISO 8601, when the call in progress took the slot."""


class HealthReport(msgspec.Struct, frozen=True):
    status: str
    """`ok`, or `draining` once SIGTERM arrived."""
    worker: str
    host: str
    socket: str
    version: str
    uptime_s: float
    slot: SlotReport


class Started(msgspec.Struct, frozen=True):
    """When the worker started, on the monotonic clock."""

    at: float


@get(
    "/health",
    sync_to_thread=False,
    summary="Slot state, version and uptime",
    description="200 while the worker takes calls (idle or busy); 503 once it is draining, so "
    "a health-checking balancer stops sending it work.",
    responses={503: ResponseSpec(HealthReport, description="Draining ahead of a stop.")},
)
def health(
    guard: NamedDependency[SlotGuard],
    settings: NamedDependency[Settings],
    started: NamedDependency[Started],
) -> Response[HealthReport]:
    slot = guard.slot
    busy_since = slot.busy_since.isoformat() if slot.busy_since else None
    report = HealthReport(
        status="draining" if guard.draining else "ok",
        worker=settings.worker,
        host=settings.host,
        socket=settings.socket,
        version=VERSION,
        uptime_s=round(time.monotonic() - started.at, 3),
        slot=SlotReport(slot.state.value, slot.call_id, busy_since),
    )
    return Response(report, status_code=503 if guard.draining else 200)
