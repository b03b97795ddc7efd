"""The reports of this worker's calls on their way to the API, never lost and never in the
call's way.

Each report is written to the spool (`<spool>/reports/<call_id>.<sequence>.json`, atomically)
before it is sent, so a worker killed at any moment still has it on disk; it leaves the spool
once the API has it (202, or 200 for a duplicate). A send is retried with doubling backoff in
a background task; a report still unsent stays spooled and is sent again at the next start and
every `resend_s`. A report the API refuses (404: no attempt for its call yet; 400: a bad body)
is tried again the same way, but only until it is `max_age_s` old: then it is dropped from the
spool with an error in the log, since no resend can change the API's answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from datetime import timedelta
from enum import Enum
from pathlib import Path

from apps.fleet.metrics import FleetMetrics
from voxcore_adapters.internal_api.wire import report_body, report_from_body
from voxcore_domain.ports import Clock, ReportRejected, ReportSender, ReportUndelivered
from voxcore_domain.voice.report import WorkerReport

log = logging.getLogger(__name__)


class _Fate(Enum):
    TAKEN = "taken"
    """The API has it: it left the spool."""
    KEPT = "kept"
    """Not delivered, or refused while young enough to try again: still spooled."""
    DROPPED = "dropped"
    """Refused and too old: removed from the spool, logged."""


class ReportOutbox:
    """Spools each report, then delivers it to `reports` in the background."""

    def __init__(
        self,
        reports: ReportSender,
        spool_dir: Path,
        clock: Clock,
        metrics: FleetMetrics,
        *,
        attempts: int,
        backoff_s: float,
        max_age_s: float,
    ) -> None:
        self._reports = reports
        self._spool = spool_dir
        self._clock = clock
        self._metrics = metrics
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._max_age = timedelta(seconds=max_age_s)
        self._in_flight: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def post(self, report: WorkerReport) -> None:
        """Send `report` in the background: returns at once."""
        name = f"{report.call_id}.{report.sequence}.json"
        self._in_flight.add(name)
        task = asyncio.get_running_loop().create_task(self._deliver(name, report))
        # The loop keeps only weak references to tasks: hold it until it is done.
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self, timeout_s: float) -> None:
        """Wait up to `timeout_s` for the reports in flight (each is spooled already)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_s)

    async def resend(self) -> int:
        """Send every spooled report no task is sending now; how many the API took."""
        names = await asyncio.to_thread(self._spooled)
        sent = 0
        for name in sorted(names):
            if name in self._in_flight:
                continue
            path = self._spool / name
            try:
                report = report_from_body(json.loads(await asyncio.to_thread(path.read_text)))
            except (OSError, ValueError, KeyError, TypeError) as error:
                # Left in place for an operator: resending cannot repair it.
                log.error("spooled report %s is unreadable: %r", name, error)
                self._metrics.reports.labels("unreadable").inc()
                continue
            if await self._send_once(name, report, resend=True) is _Fate.TAKEN:
                sent += 1
        if sent:
            log.info("resent %d spooled call report(s)", sent)
        return sent

    async def resend_every(self, interval_s: float) -> None:
        """Resend the spool now and every `interval_s`, until cancelled."""
        while True:
            try:
                await self.resend()
            except OSError as error:
                # The spool itself unreadable (a disk problem): logged, tried again later.
                log.error("could not read the report spool: %r", error)
            await asyncio.sleep(interval_s)

    async def _deliver(self, name: str, report: WorkerReport) -> None:
        try:
            try:
                await asyncio.to_thread(self._write, name, report)
            except OSError as error:
                # The disk refused it (full, read-only): the send below is the report's only
                # chance, so it is logged with the report itself.
                log.error(
                    "report %s not spooled (%r): %s", name, error, json.dumps(report_body(report))
                )
            delay = self._backoff_s
            for attempt in range(1, self._attempts + 1):
                if await self._send_once(name, report, resend=False) is not _Fate.KEPT:
                    return
                if attempt < self._attempts:
                    await asyncio.sleep(delay)
                    delay *= 2
            log.warning(
                "report %s of call %s kept in the spool after %d attempts",
                report.sequence,
                report.call_id,
                self._attempts,
            )
        finally:
            self._in_flight.discard(name)

    async def _send_once(self, name: str, report: WorkerReport, *, resend: bool) -> _Fate:
        """One send, and what became of the report."""
        try:
            answer = await self._reports.send(report)
        except ReportUndelivered as error:
            log.warning(
                "report %s of call %s not delivered: %s", report.sequence, report.call_id, error
            )
            self._metrics.reports.labels("undelivered").inc()
            return _Fate.KEPT
        except ReportRejected as error:
            self._metrics.reports.labels("rejected").inc()
            if self._clock.now() - report.at < self._max_age:
                log.warning(
                    "report %s of call %s refused (%s), kept to try again",
                    report.sequence,
                    report.call_id,
                    error,
                )
                return _Fate.KEPT
            log.error(
                "report %s of call %s refused (%s) and older than %s: dropped from the spool: %s",
                report.sequence,
                report.call_id,
                error,
                self._max_age,
                json.dumps(report_body(report)),
            )
            await asyncio.to_thread(self._remove, name)
            self._metrics.reports.labels("dropped").inc()
            return _Fate.DROPPED
        except Exception as error:
            # Not the port's own failures: a bug, logged with its traceback. The report stays
            # spooled and the outbox (and its periodic resend) goes on.
            log.error("report %s: sending failed", name, exc_info=error)
            self._metrics.reports.labels("undelivered").inc()
            return _Fate.KEPT
        await asyncio.to_thread(self._remove, name)
        self._metrics.reports.labels("resent" if resend else answer.value).inc()
        return _Fate.TAKEN

    def _spooled(self) -> list[str]:
        if not self._spool.is_dir():
            return []
        return [path.name for path in self._spool.glob("*.json")]

    def _write(self, name: str, report: WorkerReport) -> None:
        self._spool.mkdir(parents=True, exist_ok=True)
        path = self._spool / name
        partial = path.with_name(name + ".partial")
        with partial.open("w") as file:
            json.dump(report_body(report), file)
            file.flush()
            os.fsync(file.fileno())
        partial.replace(path)

    def _remove(self, name: str) -> None:
        (self._spool / name).unlink(missing_ok=True)
