"""LiveKit calls (dial-out, widget, a room handed over by `/attach`) reach the API through the
same report outbox as carrier-stream calls: `attached` when the slot is claimed, `ended` with
the disposition — also for a call that never talked (busy, no answer, a failed setup) — each
report spooled first and retried until the API has it. LiveKit's side is the Twirp double and
the room join the stand-in of `test_livekit_calls` (no LiveKit server can run here)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from litestar.testing import AsyncTestClient

from apps.fleet.settings import Settings
from tests.fleet.test_livekit_calls import (
    PHONE,
    RoomJoin,
    dialout,
    double,
    greeted,
    idle,
    joiner,
    livekit_app,
    lk_settings,
    until,
)
from voxcore_adapters.fakes.fleet_api import InMemoryReportSender
from voxcore_adapters.fakes.media_fakes import Callee
from voxcore_adapters.testing.livekit_double import LiveKitDouble
from voxcore_domain.model import CallOrigin, Disposition
from voxcore_domain.voice.report import ReportKind, WorkerReport

pytestmark = pytest.mark.integration
# The LiveKit double, the room-join stand-in and the settings for them are that module's fixtures.
__all__ = ["double", "joiner", "lk_settings"]


@pytest.fixture
def reports() -> InMemoryReportSender:
    return InMemoryReportSender()


@pytest.fixture
async def client(
    lk_settings: Settings, joiner: RoomJoin, reports: InMemoryReportSender
) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(livekit_app(lk_settings, joiner, reports=reports)) as test_client:
        yield test_client


async def reported(reports: InMemoryReportSender, call_id: str) -> list[WorkerReport]:
    """The call's two reports, once the outbox delivered both."""
    await until(lambda: len(reports.of_call(call_id)) == 2)
    attached, ended = reports.of_call(call_id)
    assert (attached.kind, attached.sequence, attached.worker) == (
        ReportKind.ATTACHED,
        1,
        "fleet-test/7",
    )
    assert (ended.kind, ended.sequence) == (ReportKind.ENDED, 2)
    return [attached, ended]


async def test_a_dialled_call_that_talked_is_reported_with_its_recording(
    client: AsyncTestClient[Any], joiner: RoomJoin, reports: InMemoryReportSender
) -> None:
    assert (await client.post("/livekit/dialout", json=dialout())).status_code == 202
    leg, _ = await greeted(joiner)
    leg.participant_left("sip-call-1")
    assert await idle(client)
    attached, ended = await reported(reports, "call-1")
    # A stand-alone call: no campaign (`adhoc` only files its recording), no lease; its
    # origin and agent let the API record it.
    for each in (attached, ended):
        assert (each.tenant_id, each.campaign_id, each.lease_token) == ("tenant-1", None, None)
        assert (each.origin, each.agent_id) == (CallOrigin.DIALOUT, "agent-1")
    assert ended.disposition is Disposition.HUNG_UP
    assert ended.detail["recording_key"] == "tenant-1/call-1/call.wav"
    assert [step["kind"] for step in ended.detail["transcript"]][:1] == ["speech_started"]


@pytest.mark.parametrize(
    ("callee", "disposition"),
    [(Callee.busy(), Disposition.BUSY), (Callee.no_answer(), Disposition.NO_ANSWER)],
    ids=["busy", "no-answer"],
)
async def test_a_dial_nobody_answered_is_reported_with_its_disposition(
    client: AsyncTestClient[Any],
    double: LiveKitDouble,
    reports: InMemoryReportSender,
    callee: Callee,
    disposition: Disposition,
) -> None:
    double.script(PHONE, callee)
    assert (await client.post("/livekit/dialout", json=dialout())).status_code == 202
    assert await idle(client)
    _, ended = await reported(reports, "call-1")
    assert ended.disposition is disposition
    assert ended.detail["reason"].startswith("the dial was not answered")
    assert ended.detail["transcript"] == []
    assert "recording_key" not in ended.detail


async def test_a_widget_call_whose_browser_never_joins_is_reported_failed(
    client: AsyncTestClient[Any], joiner: RoomJoin, reports: InMemoryReportSender
) -> None:
    joiner.caller_joins = False
    answer = await client.post(
        "/livekit/widget", json={"agent_id": "a", "tenant_id": "t", "call_id": "w1"}
    )
    assert answer.status_code == 202
    assert await idle(client)
    _, ended = await reported(reports, "w1")
    assert ended.disposition is Disposition.FAILED
    assert (ended.origin, ended.agent_id, ended.campaign_id) == (CallOrigin.WIDGET, "a", None)
    assert ended.detail["reason"]


async def test_a_room_handed_over_by_attach_is_reported_with_the_lease_token(
    client: AsyncTestClient[Any], joiner: RoomJoin, reports: InMemoryReportSender
) -> None:
    body = {
        "call_id": "call-9",
        "tenant_id": "tenant-1",
        "campaign_id": "campaign-1",
        "agent_id": "agent-1",
        "lease_token": "lease-9",
        "media": {"kind": "livekit", "room": "room-9"},
    }
    assert (await client.post("/attach", json=body)).status_code == 202
    await until(lambda: len(joiner.joins) == 1)
    joiner.joins[0].leg.participant_left("sip-call-9")
    assert await idle(client)
    attached, ended = await reported(reports, "call-9")
    assert (attached.campaign_id, attached.lease_token, ended.lease_token) == (
        "campaign-1",
        "lease-9",
        "lease-9",
    )
    assert (ended.origin, ended.agent_id) == (None, None)
    assert ended.disposition is Disposition.HUNG_UP


async def test_room_call_reports_wait_in_the_spool_and_are_retried_until_the_api_takes_them(
    lk_settings: Settings, double: LiveKitDouble, joiner: RoomJoin
) -> None:
    settings = attrs.evolve(
        lk_settings, report_attempts=2, report_backoff_s=0.05, report_resend_s=0.2
    )
    spool = Path(settings.reports_spool)
    reports = InMemoryReportSender()
    reports.down = True
    double.script(PHONE, Callee.busy())
    async with AsyncTestClient(livekit_app(settings, joiner, reports=reports)) as client:
        assert (await client.post("/livekit/dialout", json=dialout())).status_code == 202
        assert await idle(client)
        names = {"call-1.1.json", "call-1.2.json"}
        await until(lambda: {p.name for p in spool.glob("*.json")} == names)
        # Both sends and a retry each failed; the reports wait on disk.
        await until(lambda: reports.sends >= 4)
        spooled = json.loads((spool / "call-1.2.json").read_text())
        assert (spooled["kind"], spooled["disposition"]) == ("ended", "busy")
        assert (spooled["origin"], spooled["agent_id"], spooled["campaign_id"]) == (
            "dialout",
            "agent-1",
            None,
        )
        reports.down = False
        _, ended = await reported(reports, "call-1")
        assert ended.disposition is Disposition.BUSY
        await until(lambda: not list(spool.glob("*.json")))
