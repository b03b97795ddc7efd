"""How a call reaches this worker and runs on it.

Two ways in, one slot:

- `POST /attach` hands over an answered call and names the carrier whose media stream will
  bring its audio. The slot is claimed at once; the stream must arrive (`/media/<carrier>`
  with the call's id among its parameters) within `media_wait_s`, or the call fails and the
  slot is freed.
- A carrier's media stream that no attach announced hands over its call itself: the stream's
  parameters carry the call's identity, and the slot is claimed when its `start` frame comes.

Either way the call runs here: the agent's runtime config is read (cached; the last known one
while the API is down), the pipeline talks on the leg, both sides are recorded to disk as the
call runs, the recording is kept (S3 or the spool), and the slot is freed whatever happened.
The API hears of the call twice (`attached` when the slot is claimed, `ended` with the outcome)
through the report outbox, which never makes the call wait.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import attrs

from apps.fleet.configs import ConfigBook, NoConfig
from apps.fleet.errors import SlotTaken
from apps.fleet.live_recording import LiveRecording
from apps.fleet.metrics import FleetMetrics
from apps.fleet.recordings import RECORDING_NAME, RecordingArchive
from apps.fleet.reports import ReportOutbox
from apps.fleet.slot import SlotGuard
from voxcore_adapters.carriers.frames import CloseCode, FrameError, Start
from voxcore_adapters.s3 import layout
from voxcore_adapters.voice.recorded import RecordedLeg
from voxcore_domain.errors import InvalidTransition, ValidationError
from voxcore_domain.model import Disposition
from voxcore_domain.ports import CallLeg, CallPipeline, Clock
from voxcore_domain.voice import report
from voxcore_domain.voice.agent_config import AgentConfig
from voxcore_domain.voice.call import CallOutcome, CallSetup

log = logging.getLogger(__name__)

IDENTITY = ("call_id", "tenant_id", "campaign_id", "agent_id", "lease_token")
"""Stream parameters that identify the call; every other parameter is a contact variable."""


def checked(call: CallSetup) -> CallSetup:
    """`call`, if its ids can name its recording in S3 and its spool file (no `/`, no spaces):
    `ValidationError` naming the id otherwise."""
    layout.check_id("call_id", call.call_id)
    layout.check_id("tenant_id", call.tenant_id)
    layout.check_id("campaign_id", call.campaign_id)
    return call


def call_from_parameters(parameters: Mapping[str, str]) -> CallSetup:
    """The call a media stream carries in its custom parameters."""
    return checked(
        CallSetup(
            call_id=parameters.get("call_id", ""),
            tenant_id=parameters.get("tenant_id", ""),
            campaign_id=parameters.get("campaign_id", ""),
            agent_id=parameters.get("agent_id", ""),
            lease_token=parameters.get("lease_token") or None,
            variables={k: v for k, v in parameters.items() if k not in IDENTITY},
        )
    )


@attrs.frozen
class Reporting:
    """Where and as whom a runner reports its calls."""

    outbox: ReportOutbox
    clock: Clock
    worker: str
    """`<host>/<worker>`, as the reports name who ran the call."""


@attrs.frozen
class Configured:
    """How a runner picks each call's pipeline from its agent's runtime config."""

    book: ConfigBook
    pipeline_for: Callable[[AgentConfig], CallPipeline]


@attrs.frozen
class _Expected:
    """An attached call whose media stream has not arrived yet."""

    call: CallSetup
    carrier: str
    arrived: asyncio.Event


class CallRunner:
    """Takes calls onto the worker's slot and runs them."""

    def __init__(
        self,
        guard: SlotGuard,
        pipeline: CallPipeline,
        archive: RecordingArchive,
        metrics: FleetMetrics,
        *,
        media_wait_s: float,
        max_call_s: float,
        retry_after_s: int,
        reporting: Reporting | None = None,
        configured: Configured | None = None,
    ) -> None:
        """Without `reporting` no call is reported; without `configured` every call runs on
        `pipeline` (the memory backend, and tests of the runner itself)."""
        self._guard = guard
        self._reporting = reporting
        self._configured = configured
        self._sequences: dict[str, int] = {}
        self._pipeline = pipeline
        self._archive = archive
        self._metrics = metrics
        self._media_wait_s = media_wait_s
        self._max_call_s = max_call_s
        self._retry_after_s = retry_after_s
        self._expected: dict[str, _Expected] = {}
        self._watches: set[asyncio.Task[None]] = set()
        self._prepared: dict[str, asyncio.Task[CallPipeline | CallOutcome]] = {}
        """Attached calls' pipelines, chosen (runtime config read) while the media is on its
        way: the config's round trip to the API is then off the path to the first audio."""

    def attach(self, call: CallSetup, carrier: str) -> None:
        """Hold the slot for `call` until its media stream arrives on `/media/<carrier>`;
        `SlotTaken` if the worker cannot take it."""
        self._claim(call.call_id, "attach")
        self._report_attached(call)
        expected = _Expected(call, carrier, asyncio.Event())
        self._expected[call.call_id] = expected
        loop = asyncio.get_running_loop()
        if self._configured is not None:
            self._prepared[call.call_id] = loop.create_task(self._pipeline_of(call))
        watch = loop.create_task(self._await_media(expected))
        # The loop keeps only weak references to tasks: hold it until it is done.
        self._watches.add(watch)
        watch.add_done_callback(self._watches.discard)

    def take_stream(self, start: Start, carrier: str) -> CallSetup:
        """The call a started media stream brings: the attached call waiting for it, or a call
        the stream hands over itself (the slot is claimed for it). `FrameError` if the stream
        does not say which call it is; `SlotTaken` if the worker cannot take it."""
        call_id = start.parameters.get("call_id")
        if not call_id:
            raise FrameError(CloseCode.POLICY, "start: the stream's parameters carry no call_id")
        expected = self._expected.get(call_id)
        if expected is not None:
            if expected.carrier != carrier:
                raise FrameError(
                    CloseCode.POLICY, f"call {call_id} was attached for /media/{expected.carrier}"
                )
            del self._expected[call_id]
            expected.arrived.set()
            return expected.call
        try:
            call = call_from_parameters(start.parameters)
        except ValidationError as error:
            raise FrameError(
                CloseCode.POLICY, f"start: parameter {error.field}: {error.message}"
            ) from None
        self._claim(call.call_id, "media")
        self._report_attached(call)
        return call

    async def run(self, call: CallSetup, leg: CallLeg) -> CallOutcome:
        """Run `call`, whose slot this worker holds, to its end: talk, keep the recording, free
        the slot, report the end. Never raises for the call's own failures: they are its
        outcome."""
        started = time.monotonic()
        outcome = CallOutcome.failed("the worker stopped during the call")
        recording: LiveRecording | None = None
        recording_key: str | None = None
        prepared = self._prepared.pop(call.call_id, None)
        try:
            try:
                recording = self._archive.start(call)
            except OSError as error:
                if prepared is not None:
                    prepared.cancel()
                log.error("call %s: cannot record it", call.call_id, exc_info=error)
                outcome = CallOutcome.failed(f"the recording could not start: {error.strerror}")
                await leg.hang_up()
                return outcome
            pipeline = await (prepared or self._pipeline_of(call))
            if isinstance(pipeline, CallOutcome):
                outcome = pipeline
                await leg.hang_up()
            else:
                outcome = await self._talk(call, RecordedLeg(leg, recording), pipeline)
        finally:
            # Also when the call's task is cancelled (the worker stopping without a drain):
            # what was recorded is kept, and the slot is freed either way.
            try:
                recording_key = await self._keep(call, recording)
            finally:
                self._guard.free(call.call_id)
                self._report_ended(call, outcome, recording_key)
                self._metrics.calls.labels(outcome.disposition.value).inc()
                self._metrics.call_seconds.observe(time.monotonic() - started)
        log.info(
            "call %s ended: %s %s",
            call.call_id,
            outcome.disposition.value,
            outcome.reason,
        )
        return outcome

    async def _keep(self, call: CallSetup, recording: LiveRecording | None) -> str | None:
        """Keep what `call` recorded (uploaded, or spooled); the key its recording is filed
        under, None when nothing was recorded."""
        if recording is None:
            return None
        if recording.empty:
            recording.discard()
            self._archive.forget(call.call_id)
            return None
        await self._archive.keep_live(recording)
        return layout.recording_key(call.tenant_id, call.call_id, RECORDING_NAME)

    async def _pipeline_of(self, call: CallSetup) -> CallPipeline | CallOutcome:
        """The pipeline for `call` from its agent's runtime config, or the failed outcome when
        there is no config to run it with."""
        if self._configured is None:
            return self._pipeline
        try:
            config = await self._configured.book.get(call.agent_id)
        except NoConfig as missing:
            log.error("call %s: %s", call.call_id, missing.reason)
            return CallOutcome.failed(missing.reason)
        if config.tenant_id != call.tenant_id:
            return CallOutcome.failed(f"agent {call.agent_id} is not the call's tenant's")
        try:
            return self._configured.pipeline_for(config)
        except ValidationError as error:
            reason = f"agent {call.agent_id} cannot run: {error.field}: {error.message}"
            log.error("call %s: %s", call.call_id, reason)
            return CallOutcome.failed(reason)

    def _report_attached(self, call: CallSetup) -> None:
        if self._reporting is None:
            return
        self._sequences[call.call_id] = 1
        self._reporting.outbox.post(
            report.attached(call, 1, self._reporting.clock.now(), self._reporting.worker)
        )

    def _report_ended(self, call: CallSetup, outcome: CallOutcome, key: str | None) -> None:
        if self._reporting is None:
            return
        sequence = self._sequences.pop(call.call_id, 0) + 1
        self._reporting.outbox.post(
            report.ended(
                call, outcome, sequence, self._reporting.clock.now(), self._reporting.worker, key
            )
        )

    async def _talk(self, call: CallSetup, leg: CallLeg, pipeline: CallPipeline) -> CallOutcome:
        limit = asyncio.timeout(self._max_call_s)
        try:
            async with limit:
                return await pipeline.run(call, leg)
        except TimeoutError as error:
            if not limit.expired():
                return self._broken(call, error)
            await leg.hang_up()
            return CallOutcome.failed(f"the call reached its {self._max_call_s:g} s limit")
        except FrameError as error:
            return CallOutcome.failed(error.reason)
        except Exception as error:
            return self._broken(call, error)

    @staticmethod
    def _broken(call: CallSetup, error: Exception) -> CallOutcome:
        # A pipeline that breaks ends this call, not the worker: logged with its traceback,
        # reported as the call's outcome.
        log.error("call %s: the pipeline failed", call.call_id, exc_info=error)
        return CallOutcome.failed(f"the pipeline failed: {type(error).__name__}")

    async def _await_media(self, expected: _Expected) -> None:
        call_id = expected.call.call_id
        try:
            async with asyncio.timeout(self._media_wait_s):
                await expected.arrived.wait()
        except TimeoutError:
            if expected.arrived.is_set():
                # The stream came in the same turn of the loop as the timeout: the call is on.
                return
            self._expected.pop(call_id, None)
            await self._drop_prepared(call_id)
            self._guard.free(call_id)
            self._report_ended(
                expected.call,
                CallOutcome.failed(f"no media stream within {self._media_wait_s:g} s"),
                None,
            )
            self._metrics.calls.labels("failed").inc()
            log.warning(
                "call %s: no media stream within %g s, slot freed", call_id, self._media_wait_s
            )

    async def _drop_prepared(self, call_id: str) -> None:
        """Stop choosing the pipeline of a call that will not run."""
        prepared = self._prepared.pop(call_id, None)
        if prepared is not None:
            prepared.cancel()
            # Its outcome (or failure) no longer matters: retrieved, not raised.
            await asyncio.gather(prepared, return_exceptions=True)

    def claim(self, call: CallSetup, route: str) -> None:
        """Take the slot for a call that reaches the worker by `route` (a LiveKit room);
        `SlotTaken` if the worker cannot take it. `run` or `abandon` frees it; the API hears of
        it as of an attached call."""
        self._claim(call.call_id, route)
        self._report_attached(call)

    def abandon(self, call: CallSetup, disposition: Disposition, reason: str) -> None:
        """Free the slot of a claimed call that never ran (its dial was not answered, or its
        room could not be joined) and report how it ended."""
        self._guard.free(call.call_id)
        self._metrics.calls.labels(disposition.value).inc()
        if self._reporting is not None:
            sequence = self._sequences.pop(call.call_id, 0) + 1
            self._reporting.outbox.post(
                report.not_connected(
                    call,
                    disposition,
                    reason,
                    sequence,
                    self._reporting.clock.now(),
                    self._reporting.worker,
                )
            )
        log.warning("call %s ended before it ran: %s (%s)", call.call_id, disposition, reason)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` (a call's setup and the call) in the background, held until done."""
        task = asyncio.get_running_loop().create_task(work)
        self._watches.add(task)
        task.add_done_callback(self._watches.discard)

    def _claim(self, call_id: str, route: str) -> None:
        try:
            self._guard.claim(call_id)
        except InvalidTransition:
            taken = SlotTaken(self._guard.slot, self._retry_after_s)
            self._metrics.handovers.labels(route, taken.code).inc()
            raise taken from None
        self._metrics.handovers.labels(route, "accepted").inc()
