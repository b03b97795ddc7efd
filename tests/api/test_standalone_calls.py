"""Stand-alone calls (a fleet worker's own dial-out or widget call) through
`POST /v1/internal/call-events`: the first report records the call as its tenant's, with no
campaign and no contact; the tenant reads it like any call; no campaign counts it. And an
inbound call's reports, which carry no lease, close no contact."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from apps.api.deps import Deps
from tests.api.calls_support import post_report
from tests.api.support import TenantSession, assert_error
from tests.api.test_calls import WAV, finished, running_campaign
from voxcore_adapters.fakes.media_fakes import InMemoryRecordingStore
from voxcore_adapters.fakes.redis_fakes import ManualClock
from voxcore_domain.callevents import CallEventKind
from voxcore_domain.model import CallAttempt, CallOrigin, Disposition


def standalone(
    tenant: TenantSession,
    sequence: int,
    kind: str,
    at: datetime,
    *,
    call_id: str = "lk-0001",
    origin: str = "dialout",
    **fields: Any,
) -> dict[str, Any]:
    """A report body of a stand-alone call, as the fleet's outbox sends it."""
    body: dict[str, Any] = {
        "call_id": call_id,
        "sequence": sequence,
        "kind": kind,
        "at": at.isoformat(),
        "tenant_id": tenant.id,
        "campaign_id": None,
        "lease_token": None,
        "worker": "host-1/voxcore_2",
        "origin": origin,
        "agent_id": tenant.agent_id,
    }
    return body | fields


def test_a_dialout_is_recorded_by_its_first_report_and_read_like_any_call(
    client: TestClient[Any], deps: Deps, acme: TenantSession, clock: ManualClock
) -> None:
    t0 = clock.now()
    attached = post_report(client, standalone(acme, 1, "attached", t0))
    assert attached.status_code == 202, attached.text
    assert attached.json() == {"duplicate": False, "contact": "unchanged", "contact_state": None}
    key = f"{acme.id}/lk-0001/call.wav"
    steps = [{"at_ms": 40, "kind": "speech_started", "detail": {}}]
    ended = standalone(acme, 2, "ended", t0 + timedelta(seconds=45), disposition="hung_up")
    answer = post_report(client, ended | {"detail": {"transcript": steps, "recording_key": key}})
    assert answer.status_code == 202, answer.text
    assert answer.json()["contact"] == "unchanged"
    # The worker's retry of a report the API has: 200, nothing changes.
    stored = deps.call_log.get("lk-0001")
    assert post_report(client, standalone(acme, 1, "attached", t0)).status_code == 200
    assert deps.call_log.get("lk-0001") == stored

    assert stored == CallAttempt(
        "lk-0001",
        "",
        "",
        acme.id,
        1,
        "",
        t0,
        attached_at=t0,
        ended_at=t0 + timedelta(seconds=45),
        disposition=Disposition.HUNG_UP,
        worker="host-1/voxcore_2",
        origin=CallOrigin.DIALOUT,
    )
    store = deps.recordings
    assert isinstance(store, InMemoryRecordingStore)
    store.put(key, WAV, "audio/wav")
    detail = client.get("/v1/calls/lk-0001", headers=acme.headers)
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert body["call"] | {"dialed_at": None} == {
        "id": "lk-0001",
        "campaign_id": None,
        "contact_id": None,
        "number": 1,
        "dialed_at": None,
        "answered_at": None,
        "attached_at": body["call"]["attached_at"],
        "ended_at": body["call"]["ended_at"],
        "disposition": "hung_up",
        "worker": "host-1/voxcore_2",
        "origin": "dialout",
    }
    assert [(e["sequence"], e["kind"]) for e in body["events"]] == [(1, "attached"), (2, "ended")]
    assert body["transcript"] == steps
    assert body["recording_key"] == key
    assert store.fetch(body["recording_url"]) == WAV
    listed = client.get("/v1/calls", headers=acme.headers).json()["items"]
    assert [(c["id"], c["origin"], c["campaign_id"]) for c in listed] == [
        ("lk-0001", "dialout", None)
    ]


def test_a_widget_call_reported_end_first_is_recorded_from_its_earliest_report(
    client: TestClient[Any], deps: Deps, acme: TenantSession, clock: ManualClock
) -> None:
    t0 = clock.now()
    # The `attached` report waited in the worker's spool; the `ended` one got through first.
    ended = standalone(
        acme, 2, "ended", t0 + timedelta(seconds=30), origin="widget", disposition="failed"
    )
    assert post_report(client, ended).status_code == 202
    assert post_report(client, standalone(acme, 1, "attached", t0, origin="widget")).is_success
    attempt = deps.call_log.get("lk-0001")
    assert attempt is not None
    assert (attempt.origin, attempt.dialed_at, attempt.attached_at) == (CallOrigin.WIDGET, t0, t0)
    assert attempt.disposition is Disposition.FAILED


def test_stand_alone_calls_count_in_no_campaign(
    client: TestClient[Any], deps: Deps, acme: TenantSession, clock: ManualClock
) -> None:
    campaign = running_campaign(client, acme)
    finished(client, deps, acme, campaign, 1, "completed")
    t0 = clock.now()
    for n in range(3):
        call_id = f"lk-{n}"
        assert post_report(client, standalone(acme, 1, "attached", t0, call_id=call_id)).is_success
        ended = standalone(acme, 2, "ended", t0, call_id=call_id, disposition="abandoned")
        assert post_report(client, ended).status_code == 202
    stats = client.get(f"/v1/campaigns/{campaign}/stats", headers=acme.headers).json()
    assert (stats["last_hour"]["dials"], stats["last_hour"]["abandoned"]) == (1, 0)
    assert stats["busy_slots"] == 0
    # Published to no campaign's stream: the campaign's holds only its own call.
    events = asyncio.run(deps.call_events.read(campaign))
    assert [e.event.call_id for e in events] == ["call0001", "call0001"]
    by_campaign = client.get("/v1/calls", params={"campaign_id": campaign}, headers=acme.headers)
    assert [c["id"] for c in by_campaign.json()["items"]] == ["call0001"]
    assert len(client.get("/v1/calls", headers=acme.headers).json()["items"]) == 4


def test_a_report_cannot_file_a_call_under_a_tenant_its_agent_is_not_of(
    client: TestClient[Any],
    deps: Deps,
    acme: TenantSession,
    globex: TenantSession,
    clock: ManualClock,
) -> None:
    foreign = standalone(acme, 1, "attached", clock.now(), agent_id=globex.agent_id)
    assert_error(post_report(client, foreign), 400, "agent_id", "bad_request")
    unknown = standalone(acme, 1, "attached", clock.now(), agent_id="nobody")
    assert_error(post_report(client, unknown), 400, "agent_id", "bad_request")
    assert deps.call_log.get("lk-0001") is None
    assert client.get("/v1/calls", headers=globex.headers).json()["items"] == []


def test_a_stand_alone_report_cannot_touch_another_tenants_or_a_campaigns_call(
    client: TestClient[Any], deps: Deps, acme: TenantSession, globex: TenantSession
) -> None:
    campaign = running_campaign(client, acme)
    call = finished(client, deps, acme, campaign, 1, None)
    before = deps.call_log.get(call.call_id)
    at = deps.clock.now()
    # Globex's worker names Acme's campaign call, with Globex's own agent.
    hijack = standalone(globex, 5, "ended", at, call_id=call.call_id, disposition="failed")
    assert_error(post_report(client, hijack), 400, "tenant_id", "bad_request")
    # Acme's own agent, but the call is a campaign's, not a stand-alone one.
    posing = standalone(acme, 5, "ended", at, call_id=call.call_id, disposition="failed")
    assert_error(post_report(client, posing), 400, "campaign_id", "bad_request")
    assert deps.call_log.get(call.call_id) == before
    # A stand-alone call of Acme's cannot be reported as a widget call, nor as Globex's.
    assert post_report(client, standalone(acme, 1, "attached", at)).status_code == 202
    widget = standalone(acme, 2, "ended", at, origin="widget", disposition="failed")
    assert_error(post_report(client, widget), 400, "origin", "bad_request")
    theirs = standalone(globex, 2, "ended", at, disposition="failed")
    assert_error(post_report(client, theirs), 400, "tenant_id", "bad_request")
    attempt = deps.call_log.get("lk-0001")
    assert attempt is not None
    assert (attempt.tenant_id, attempt.disposition) == (acme.id, None)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"origin": "campaign"}, "origin"),
        ({"origin": "inbound"}, "origin"),
        ({"origin": "phone"}, "origin"),
        ({"agent_id": None}, "agent_id"),
        ({"agent_id": ""}, "agent_id"),
        ({"campaign_id": "adhoc"}, "campaign_id"),
        ({"lease_token": "0" * 32}, "lease_token"),
        ({"origin": None, "agent_id": None}, "campaign_id"),
        ({"origin": None, "campaign_id": "k1", "lease_token": "x"}, "agent_id"),
    ],
)
def test_a_bad_stand_alone_report_is_400_naming_the_field(
    client: TestClient[Any],
    deps: Deps,
    acme: TenantSession,
    clock: ManualClock,
    change: dict[str, Any],
    field: str,
) -> None:
    body = standalone(acme, 1, "attached", clock.now()) | change
    body = {k: v for k, v in body.items() if v is not None}
    assert_error(post_report(client, body), 400, field, "bad_request")
    assert deps.call_log.get("lk-0001") is None


def test_a_campaigns_call_reported_without_its_lease_token_is_400(
    client: TestClient[Any], deps: Deps, acme: TenantSession
) -> None:
    campaign = running_campaign(client, acme)
    call = finished(client, deps, acme, campaign, 1, None)
    body = {
        "call_id": call.call_id,
        "sequence": 2,
        "kind": "ended",
        "at": deps.clock.now().isoformat(),
        "tenant_id": acme.id,
        "campaign_id": campaign,
        "disposition": "completed",
    }
    assert_error(post_report(client, body), 400, "lease_token", "bad_request")


def test_an_inbound_calls_reports_without_a_lease_close_no_contact(
    client: TestClient[Any], deps: Deps, acme: TenantSession, clock: ManualClock
) -> None:
    stream = "inbound:num-1"
    t0 = clock.now()
    deps.call_log.record(
        CallAttempt(
            "in-SCL_1", "inbound:+14155550123", stream, acme.id, 1, "", t0,
            attached_at=t0, worker="host-1/voxcore_1", origin=CallOrigin.INBOUND,
        )
    )  # fmt: skip
    base = {"call_id": "in-SCL_1", "tenant_id": acme.id, "campaign_id": stream}
    attached = base | {"sequence": 1, "kind": "attached", "at": t0.isoformat(), "lease_token": ""}
    assert post_report(client, attached).status_code == 202
    at = (t0 + timedelta(seconds=20)).isoformat()
    ended = base | {"sequence": 2, "kind": "ended", "at": at, "disposition": "completed"}
    answer = post_report(client, ended)
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"duplicate": False, "contact": "unchanged", "contact_state": None}
    attempt = deps.call_log.get("in-SCL_1")
    assert attempt is not None
    assert attempt.disposition is Disposition.COMPLETED
    events = asyncio.run(deps.call_events.read(stream))
    assert [e.event.kind for e in events] == [CallEventKind.ATTACHED, CallEventKind.ENDED]
