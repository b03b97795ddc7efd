"""Prometheus metrics of one fleet worker: its slot, the calls it took and refused, how they
ended, and what became of their recordings.

Each worker has its own registry and its own `/metrics` on its own socket: scrape each socket
(or let nginx expose `/w/<i>/metrics`), since one process is one slot.
"""

from __future__ import annotations

from litestar import Response, get
from litestar.di import NamedDependency
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Enum, Histogram
from prometheus_client.exposition import generate_latest

from apps.fleet.slot import SlotGuard
from voxcore_domain.model import SlotState

CALL_BUCKETS = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
"""Seconds; calls last from a few seconds (voicemail) to the maximum call length."""


class FleetMetrics:
    """The worker's counters, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.slot_state = Enum(
            "vox_fleet_slot_state",
            "The worker's slot: idle, busy or draining.",
            states=[state.value for state in SlotState],
            registry=self.registry,
        )
        self.handovers = Counter(
            "vox_fleet_handovers",
            "Calls offered to this worker (attach or media stream), by route and result: "
            "accepted, busy, draining or invalid.",
            ["route", "result"],
            registry=self.registry,
        )
        self.calls = Counter(
            "vox_fleet_calls",
            "Calls this worker ran to their end, by disposition.",
            ["disposition"],
            registry=self.registry,
        )
        self.call_seconds = Histogram(
            "vox_fleet_call_seconds",
            "How long each call held the slot, recording upload included.",
            buckets=CALL_BUCKETS,
            registry=self.registry,
        )
        self.recordings = Counter(
            "vox_fleet_recordings",
            "Recordings by what became of them: uploaded, spooled (S3 refused them), "
            "resent (from the spool), or failed (a resend that will be tried again).",
            ["result"],
            registry=self.registry,
        )
        self.reports = Counter(
            "vox_fleet_reports",
            "Call reports to the API by result: accepted, duplicate, resent (from the spool), "
            "undelivered (kept to send again), rejected (404/400, kept until too old), dropped "
            "(refused and too old), unreadable (a spool file left for an operator).",
            ["result"],
            registry=self.registry,
        )
        self.heartbeat_failures = Counter(
            "vox_fleet_heartbeat_failures",
            "Slot heartbeats the registry (Redis) refused or did not answer.",
            registry=self.registry,
        )

    def exposition(self, guard: SlotGuard) -> bytes:
        self.slot_state.state(guard.slot.state.value)
        return generate_latest(self.registry)


@get("/metrics", include_in_schema=False, sync_to_thread=False)
def metrics(
    fleet_metrics: NamedDependency[FleetMetrics], guard: NamedDependency[SlotGuard]
) -> Response[bytes]:
    """The Prometheus exposition of this worker's metrics."""
    return Response(fleet_metrics.exposition(guard), media_type=CONTENT_TYPE_LATEST)
