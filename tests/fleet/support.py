"""Helpers shared by the fleet tests: a worker app on chosen adapters, and a simulated carrier
driven over Litestar's test WebSocket."""

from __future__ import annotations

import time
from collections.abc import Callable

from litestar import Litestar
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient, WebSocketTestSession

from apps.fleet.deps import Deps, default_pipeline
from apps.fleet.main import create_app
from apps.fleet.memory import release_soon
from apps.fleet.pipelines import Pipelines
from apps.fleet.settings import Settings
from voxcore_adapters.clock import UtcClock
from voxcore_adapters.fakes.fleet_api import InMemoryReportSender
from voxcore_adapters.fakes.media_fakes import InMemoryRecordingStore
from voxcore_adapters.fakes.redis_fakes import InMemorySlotRegistry
from voxcore_adapters.testing.carrier import TwilioCarrier, quiet, voice
from voxcore_domain.ports import (
    AgentConfigs,
    CallPipeline,
    CallRecordings,
    ReportSender,
    WorkerSlots,
)

PARAMETERS = {
    "call_id": "call-1",
    "tenant_id": "tenant-1",
    "campaign_id": "campaign-1",
    "agent_id": "agent-1",
    "lease_token": "lease-1",
    "name": "Ann",
}
"""A direct stream's custom parameters: the call's identity, then the contact's variables."""


def worker_app(
    settings: Settings,
    *,
    recordings: CallRecordings | None = None,
    slots: WorkerSlots | None = None,
    pipeline: CallPipeline | None = None,
    stop: Callable[[], None] = lambda: None,
    reports: ReportSender | None = None,
    configs: AgentConfigs | None = None,
    pipeline_for: Pipelines | None = None,
    release_memory: Callable[[], object] = release_soon,
) -> Litestar:
    clock = UtcClock()
    deps = Deps(
        slots=slots or InMemorySlotRegistry(clock),
        recordings=recordings or InMemoryRecordingStore(settings.s3_bucket, clock),
        pipeline=pipeline or default_pipeline(),
        clock=clock,
        reports=reports or InMemoryReportSender(),
        configs=configs,
        pipeline_for=pipeline_for or Pipelines(),
        release_memory=release_memory,
    )
    return create_app(settings, deps, stop=stop)


class CarrierOnSocket:
    """A `TwilioCarrier` connected to a worker through a test WebSocket session."""

    def __init__(self, ws: WebSocketTestSession, carrier: TwilioCarrier) -> None:
        self.ws = ws
        self.carrier = carrier

    def send(self, frames: list[str]) -> None:
        for frame in frames:
            self.ws.send_text(frame)

    def pump(self, until: Callable[[], bool], timeout_s: float = 10.0) -> None:
        """Take the agent's frames (answering marks the carrier sends back) until `until`."""
        deadline = time.monotonic() + timeout_s
        while not until():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out; the agent sent {self.carrier.events[-5:]}")
            self.send(self.carrier.hear(self.ws.receive_text(timeout=remaining)))

    def closed(self, timeout_s: float = 10.0) -> WebSocketDisconnect:
        """Take frames until the worker closes the socket; the close it sent."""
        try:
            self.pump(lambda: False, timeout_s)
        except WebSocketDisconnect as close:
            return close
        raise AssertionError("the worker never closed the stream")

    def answer(self) -> None:
        """Open the stream, say "hello" and wait for the agent's greeting."""
        self.send(self.carrier.opening())
        self.send(self.carrier.say(voice(600) + quiet(700)))
        self.pump(lambda: any(mark.startswith("greeting") for mark in self.carrier.marks))

    def listen(self) -> None:
        """Stay quiet until the agent's queued audio has played out (and its marks are back)."""
        self.send(self.carrier.say(quiet(self.carrier.queued_ms + 40)))

    def reply(self, ms: int = 500) -> None:
        """Say something short and wait for the agent's answer."""
        prompts = len(self.carrier.marks)
        self.send(self.carrier.say(voice(ms) + quiet(700)))
        self.pump(lambda: len(self.carrier.marks) > prompts)


def wait_idle(client: TestClient[Litestar], timeout_s: float = 5.0) -> bool:
    """Whether the worker's slot goes idle within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if client.get("/health").json()["slot"]["state"] == "idle":
            return True
        # The app runs on the test client's own thread: this one may sleep.
        time.sleep(0.01)
    return False
