"""Call reports to the API: the `ReportSender` contract (the in-memory fake, and the HTTP adapter
against a stand-in of the API's call-event endpoint served by Granian on loopback, see
`tests.fleet.call_event_double`; the API's real endpoint is built on another branch, and the
end-to-end test against it comes with the merge), then the worker's outbox: every report
spooled before it is sent, retried, resent from the spool, and a refused one kept only until it
is too old."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from litestar.testing import TestClient

from apps.fleet.metrics import FleetMetrics
from apps.fleet.reports import ReportOutbox
from apps.fleet.settings import Settings
from tests.fleet.support import wait_idle, worker_app
from voxcore_adapters.fakes.fleet_api import InMemoryReportSender
from voxcore_adapters.fakes.redis_fakes import ManualClock
from voxcore_adapters.internal_api import ApiConnection, HttpReportSender, report_from_body
from voxcore_adapters.internal_api.wire import report_body
from voxcore_adapters.testing.asgi_server import served, url
from voxcore_adapters.testing.process import ServerProcess
from voxcore_domain.model import CallOrigin, Disposition
from voxcore_domain.ports import ReportAnswer, ReportRejected, ReportSender, ReportUndelivered
from voxcore_domain.voice import report
from voxcore_domain.voice.call import CallOutcome, CallSetup, Step, StepKind
from voxcore_domain.voice.report import WorkerReport

TOKEN = "internal-" + "t" * 40
KNOWN = ("call-1", "call-2", "call-3")
CALL = CallSetup("call-1", "tenant-1", "campaign-1", "agent-1", "lease-1")
AT = datetime(2026, 11, 26, 20, 1, 2, 345000, tzinfo=UTC)


def ended(call: CallSetup = CALL, sequence: int = 2) -> WorkerReport:
    outcome = CallOutcome(
        Disposition.COMPLETED,
        steps=(Step(40, StepKind.SPEECH_STARTED), Step(900, StepKind.DTMF, "9")),
    )
    return report.ended(call, outcome, sequence, AT, "host-1/3", "tenant-1/call-1/call.wav")


@pytest.fixture(scope="module")
def event_api() -> Iterator[ServerProcess]:
    server = served(
        "call-events",
        "tests.fleet.call_event_double:create_app",
        {"VOX_TEST_INTERNAL_TOKEN": TOKEN, "VOX_TEST_CALLS": ",".join(KNOWN)},
    )
    with server:
        yield server


@pytest.fixture
async def http_reports(event_api: ServerProcess) -> AsyncIterator[HttpReportSender]:
    connection = ApiConnection(url(event_api), TOKEN, timeout_s=5)
    yield HttpReportSender(connection)
    await connection.aclose()


@pytest.fixture(params=["memory", "http"])
def reports(request: pytest.FixtureRequest) -> ReportSender:
    if request.param == "memory":
        return InMemoryReportSender(KNOWN)
    return request.getfixturevalue("http_reports")  # type: ignore[no-any-return]


# -- the contract, for the fake and the HTTP adapter ---------------------------------------------


async def test_a_new_report_is_accepted_and_a_repeat_is_a_duplicate(reports: ReportSender) -> None:
    first = report.attached(CALL, 1, AT, "host-1/3")
    assert await reports.send(first) is ReportAnswer.ACCEPTED
    assert await reports.send(first) is ReportAnswer.DUPLICATE
    assert await reports.send(ended()) is ReportAnswer.ACCEPTED


async def test_a_report_of_a_call_the_api_does_not_know_is_rejected_404(
    reports: ReportSender,
) -> None:
    stranger = CallSetup("call-unknown", "tenant-1", "campaign-1", "agent-1")
    with pytest.raises(ReportRejected) as refused:
        await reports.send(report.attached(stranger, 1, AT, "host-1/3"))
    assert refused.value.status == 404


async def test_a_stand_alone_calls_first_report_records_its_call(reports: ReportSender) -> None:
    own = CallSetup("lk-new", "tenant-1", "adhoc", "agent-1", origin=CallOrigin.WIDGET)
    assert await reports.send(report.attached(own, 1, AT, "host-1/3")) is ReportAnswer.ACCEPTED
    assert await reports.send(ended(own)) is ReportAnswer.ACCEPTED
    assert await reports.send(ended(own)) is ReportAnswer.DUPLICATE


# -- the HTTP adapter ------------------------------------------------------------------------------


async def test_the_body_is_the_contracts(
    http_reports: HttpReportSender, event_api: ServerProcess
) -> None:
    sent = ended(CallSetup("call-2", "tenant-1", "campaign-1", "agent-1", "lease-2"))
    assert await http_reports.send(sent) is ReportAnswer.ACCEPTED
    async with ApiConnection(url(event_api), TOKEN).client() as client:
        (body,) = [e for e in (await client.get("/events")).json() if e["call_id"] == "call-2"]
    assert body == {
        "call_id": "call-2",
        "sequence": 2,
        "kind": "ended",
        "at": "2026-11-26T20:01:02.345Z",
        "tenant_id": "tenant-1",
        "campaign_id": "campaign-1",
        "lease_token": "lease-2",
        "worker": "host-1/3",
        "disposition": "completed",
        "detail": {
            "transcript": [
                {"at_ms": 40, "kind": "speech_started", "detail": ""},
                {"at_ms": 900, "kind": "dtmf", "detail": "9"},
            ],
            "recording_key": "tenant-1/call-1/call.wav",
        },
    }
    assert report_from_body(body) == sent


async def test_a_stand_alone_calls_body_names_its_origin_and_agent_not_a_campaign(
    http_reports: HttpReportSender, event_api: ServerProcess
) -> None:
    sent = report.attached(
        CallSetup("lk-body", "tenant-1", "adhoc", "agent-1", origin=CallOrigin.DIALOUT),
        1,
        AT,
        "host-1/3",
    )
    assert await http_reports.send(sent) is ReportAnswer.ACCEPTED
    async with ApiConnection(url(event_api), TOKEN).client() as client:
        (body,) = [e for e in (await client.get("/events")).json() if e["call_id"] == "lk-body"]
    assert body == {
        "call_id": "lk-body",
        "sequence": 1,
        "kind": "attached",
        "at": "2026-11-26T20:01:02.345Z",
        "tenant_id": "tenant-1",
        "campaign_id": None,
        "lease_token": None,
        "worker": "host-1/3",
        "origin": "dialout",
        "agent_id": "agent-1",
    }
    assert report_from_body(body) == sent


async def test_a_bad_body_is_rejected_400_naming_the_field(http_reports: HttpReportSender) -> None:
    odd = WorkerReport(
        "call-3", 1, "attached", AT, "tenant-1", "campaign-1", None, "h/1", detail={"bogus": 1}
    )
    with pytest.raises(ReportRejected) as refused:
        await http_reports.send(odd)
    assert (refused.value.status, refused.value.field) == (400, "detail")
    assert "bogus" in refused.value.message


async def test_a_wrong_token_or_a_stopped_api_leaves_the_report_undelivered(
    event_api: ServerProcess,
) -> None:
    wrong = ApiConnection(url(event_api), "internal-" + "x" * 40)
    with pytest.raises(ReportUndelivered, match="401"):
        await HttpReportSender(wrong).send(report.attached(CALL, 1, AT, "h/1"))
    await wrong.aclose()
    nobody = ApiConnection("http://127.0.0.1:9", TOKEN, timeout_s=1)
    with pytest.raises(ReportUndelivered, match="did not answer"):
        await HttpReportSender(nobody).send(report.attached(CALL, 1, AT, "h/1"))
    await nobody.aclose()


def test_the_connection_keeps_the_token_out_of_its_repr() -> None:
    assert TOKEN not in repr(ApiConnection("http://api", TOKEN))


# -- the outbox ------------------------------------------------------------------------------------


class GatedReports(InMemoryReportSender):
    """Holds every send until `gate` opens: a report in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def send(self, report: WorkerReport) -> ReportAnswer:
        await self.gate.wait()
        return await super().send(report)


def outbox(
    reports: ReportSender, spool: Path, clock: ManualClock, max_age_s: float = 60
) -> ReportOutbox:
    return ReportOutbox(
        reports, spool, clock, FleetMetrics(), attempts=3, backoff_s=0.01, max_age_s=max_age_s
    )


async def test_a_report_is_on_disk_before_it_is_sent_and_leaves_once_taken(tmp_path: Path) -> None:
    reports = GatedReports()
    box = outbox(reports, tmp_path, ManualClock())
    box.post(report.attached(CALL, 1, AT, "h/1"))  # returns at once: the call never waits
    async with asyncio.timeout(5):
        while not (tmp_path / "call-1.1.json").exists():
            await asyncio.sleep(0.005)
    # A worker killed now still has it.
    assert report_from_body(json.loads((tmp_path / "call-1.1.json").read_text())).sequence == 1
    reports.gate.set()
    await box.settle(5)
    assert [r.sequence for r in reports.of_call("call-1")] == [1]
    assert list(tmp_path.iterdir()) == []


async def test_an_undelivered_report_stays_spooled_and_the_next_resend_sends_it(
    tmp_path: Path,
) -> None:
    reports = InMemoryReportSender()
    reports.down = True
    box = outbox(reports, tmp_path, ManualClock())
    box.post(report.attached(CALL, 1, AT, "h/1"))
    box.post(ended())
    await box.settle(5)
    assert reports.sends == 6  # three attempts each
    assert sorted(p.name for p in tmp_path.iterdir()) == ["call-1.1.json", "call-1.2.json"]
    (tmp_path / "broken.json").write_text("{not json")
    # The next start of the worker: a new outbox on the same spool.
    reports.down = False
    again = outbox(reports, tmp_path, ManualClock())
    assert await again.resend() == 2
    assert [r.kind.value for r in reports.of_call("call-1")] == ["attached", "ended"]
    assert reports.of_call("call-1")[1] == ended()
    # An unreadable file stays for an operator.
    assert [p.name for p in tmp_path.iterdir()] == ["broken.json"]


async def test_a_report_already_taken_counts_once_when_resent(tmp_path: Path) -> None:
    reports = InMemoryReportSender()
    box = outbox(reports, tmp_path, ManualClock())
    first = report.attached(CALL, 1, AT, "h/1")
    assert await reports.send(first) is ReportAnswer.ACCEPTED
    # As if the worker died after the API took it but before the spool file went.
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "call-1.1.json").write_text(json.dumps(report_body(first)))
    assert await box.resend() == 1
    assert len(reports.reports) == 1
    assert list(tmp_path.iterdir()) == []


async def test_a_refused_report_is_kept_until_it_is_too_old_then_dropped_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reports = InMemoryReportSender(calls=())
    clock = ManualClock(AT)
    box = outbox(reports, tmp_path, clock, max_age_s=3600)
    box.post(report.attached(CALL, 1, AT, "h/1"))
    await box.settle(5)
    assert [p.name for p in tmp_path.iterdir()] == ["call-1.1.json"]
    clock.advance(timedelta(minutes=59))
    assert await box.resend() == 0
    assert [p.name for p in tmp_path.iterdir()] == ["call-1.1.json"]
    # The API learns of the call late (the attempt was recorded after the report): it goes.
    reports.calls = {"call-1"}
    clock.advance(timedelta(minutes=30))
    assert await box.resend() == 1
    box.post(report.attached(CallSetup("call-9", "t", "c", "a"), 1, clock.now(), "h/1"))
    await box.settle(5)
    clock.advance(timedelta(hours=2))
    with caplog.at_level(logging.ERROR):
        assert await box.resend() == 0
    assert list(tmp_path.iterdir()) == []
    assert "call-9" in caplog.text
    assert "dropped" in caplog.text


# -- the worker ------------------------------------------------------------------------------------


def test_an_attached_call_whose_stream_never_comes_is_reported_failed(settings: Settings) -> None:
    reports = InMemoryReportSender()
    with TestClient(worker_app(settings, reports=reports)) as client:
        body = {
            "call_id": "call-late",
            "tenant_id": "tenant-1",
            "campaign_id": "campaign-1",
            "agent_id": "agent-1",
            "lease_token": "lease-9",
            "media": {"kind": "stream", "carrier": "twilio"},
        }
        assert client.post("/attach", json=body).status_code == 202
        assert wait_idle(client)
    attached, ended_ = reports.of_call("call-late")
    assert (attached.kind.value, attached.sequence, attached.lease_token) == (
        "attached",
        1,
        "lease-9",
    )
    assert (ended_.sequence, ended_.disposition) == (2, Disposition.FAILED)
    assert ended_.detail == {"transcript": [], "reason": "no media stream within 0.5 s"}


class BrokenReports(InMemoryReportSender):
    """An adapter with a bug: it raises something the port does not name."""

    async def send(self, report: WorkerReport) -> ReportAnswer:
        raise RuntimeError("a bug")


async def test_a_broken_adapter_is_logged_and_the_report_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    box = outbox(BrokenReports(), tmp_path, ManualClock())
    box.post(report.attached(CALL, 1, AT, "h/1"))
    await box.settle(5)
    assert await box.resend() == 0
    assert [p.name for p in tmp_path.iterdir()] == ["call-1.1.json"]
    assert "a bug" in caplog.text
