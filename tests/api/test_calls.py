"""`/v1/calls` and `/v1/campaigns/{id}/stats`: a tenant's calls to search and read, and a
campaign's call statistics; each tenant sees only its own."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from apps.api.deps import Deps
from tests.api.calls_support import Dialled, dial, post_report, report
from tests.api.support import INTERNAL, TenantSession, assert_error, make_campaign
from voxcore_adapters.fakes.media_fakes import InMemoryRecordingStore
from voxcore_adapters.fakes.redis_fakes import ManualClock
from voxcore_domain.model import Slot, SlotState

WAV = b"RIFF\x24\x00\x00\x00WAVEfmt "
"""Enough of a WAV's header for the recording store to take it."""


def running_campaign(client: TestClient[Any], tenant: TenantSession, **fields: Any) -> str:
    campaign_id = make_campaign(client, tenant, **fields)
    assert client.post(f"/v1/campaigns/{campaign_id}/start", headers=tenant.headers).is_success
    return campaign_id


def finished(
    client: TestClient[Any],
    deps: Deps,
    tenant: TenantSession,
    campaign_id: str,
    n: int,
    disposition: str | None,
    **detail: Any,
) -> Dialled:
    """Call number `n`, ended with `disposition` (attached and still talking when None)."""
    call = dial(client, deps, tenant, campaign_id, f"+1415555{n:04d}", f"call{n:04d}")
    at = deps.clock.now()
    assert post_report(client, report(call, 1, "attached", at)).status_code == 202
    if disposition is not None:
        ended = report(call, 2, "ended", at + timedelta(seconds=30), disposition=disposition)
        assert post_report(client, ended | {"detail": detail}).status_code == 202
    return call


def test_stats_count_live_answers_the_regulators_way(
    client: TestClient[Any], deps: Deps, acme: TenantSession, clock: ManualClock
) -> None:
    campaign = running_campaign(client, acme, timezone="Europe/Berlin")
    outcomes = ["completed"] * 5 + ["abandoned", "voicemail", "voicemail", "no_answer", None]
    for n, disposition in enumerate(outcomes):
        finished(client, deps, acme, campaign, n, disposition)
    heartbeats(deps, clock, busy=1, idle=3, draining=1)

    stats = client.get(f"/v1/campaigns/{campaign}/stats", headers=acme.headers)
    assert stats.status_code == 200, stats.text
    body = stats.json()
    assert (body["timezone"], body["abandon_target"]) == ("Europe/Berlin", 0.03)
    for window in ("last_hour", "today", "last_30_days"):
        counts = body[window]
        assert counts["dials"] == 10
        assert counts["ended"] == 9
        assert (counts["live_answers"], counts["machine_answers"]) == (6, 2)
        assert counts["abandoned"] == 1
        assert counts["answer_rate"] == pytest.approx(6 / 9)
        assert counts["abandon_rate"] == pytest.approx(1 / 6)
        assert counts["over_target"] is True
    assert (body["busy_slots"], body["fleet_slots"]) == (1, 4)
    assert body["occupancy"] == pytest.approx(0.25)

    # Two hours on, the last hour is empty; today (Berlin) and the month still hold them.
    clock.advance(timedelta(hours=2))
    later = client.get(f"/v1/campaigns/{campaign}/stats", headers=INTERNAL).json()
    assert later["last_hour"]["dials"] == 0
    assert later["last_hour"]["abandon_rate"] is None
    assert later["today"]["dials"] == later["last_30_days"]["dials"] == 10


def heartbeats(deps: Deps, clock: ManualClock, *, busy: int, idle: int, draining: int) -> None:
    states = [SlotState.BUSY] * busy + [SlotState.IDLE] * idle + [SlotState.DRAINING] * draining

    async def beat() -> None:
        for n, state in enumerate(states):
            slot = Slot("host-1", f"w{n}", state, clock.now())
            await deps.slots.heartbeat(slot, timedelta(minutes=1))

    asyncio.run(beat())


def test_another_tenant_cannot_read_a_campaigns_stats_or_calls(
    client: TestClient[Any], deps: Deps, acme: TenantSession, globex: TenantSession
) -> None:
    campaign = running_campaign(client, acme)
    call = finished(client, deps, acme, campaign, 1, "completed")
    assert_error(
        client.get(f"/v1/campaigns/{campaign}/stats", headers=globex.headers), 404, "campaign_id"
    )
    assert_error(client.get(f"/v1/calls/{call.call_id}", headers=globex.headers), 404, "call_id")
    assert client.get("/v1/calls", headers=globex.headers).json()["items"] == []
    other = client.get("/v1/calls", params={"campaign_id": campaign}, headers=globex.headers)
    assert other.json()["items"] == []
    assert_error(client.get("/v1/calls", headers=INTERNAL), 403, None)


def test_calls_are_searched_newest_first_by_campaign_disposition_and_time(
    client: TestClient[Any], deps: Deps, acme: TenantSession, clock: ManualClock
) -> None:
    first = running_campaign(client, acme)
    second = running_campaign(client, acme)
    for n in range(5):
        finished(client, deps, acme, first if n % 2 else second, n, ["busy", "completed"][n % 2])
        clock.advance(timedelta(minutes=1))

    def ids(**params: Any) -> list[str]:
        found = client.get("/v1/calls", params=params, headers=acme.headers)
        assert found.status_code == 200, found.text
        return [item["id"] for item in found.json()["items"]]

    assert ids() == ["call0004", "call0003", "call0002", "call0001", "call0000"]
    assert ids(campaign_id=first) == ["call0003", "call0001"]
    assert ids(disposition="busy") == ["call0004", "call0002", "call0000"]
    start = clock.now() - timedelta(minutes=4)
    assert ids(since=start.isoformat(), until=(start + timedelta(minutes=2)).isoformat()) == [
        "call0002",
        "call0001",
    ]

    pages: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/v1/calls", params=params, headers=acme.headers).json()
        pages += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == ids()


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"limit": 0}, 400, "limit"),
        ({"limit": 501}, 400, "limit"),
        ({"limit": "many"}, 400, "limit"),
        ({"disposition": "hung up"}, 400, "disposition"),
        ({"since": "yesterday"}, 400, "since"),
        ({"until": "2024-06-05T12:00:00"}, 422, "until"),
        ({"cursor": "not-a-cursor"}, 422, "cursor"),
        ({"campaign_id": "x" * 201}, 400, "campaign_id"),
    ],
)
def test_a_bad_search_is_refused_naming_the_parameter(
    client: TestClient[Any], acme: TenantSession, params: dict[str, Any], status: int, field: str
) -> None:
    assert_error(client.get("/v1/calls", params=params, headers=acme.headers), status, field)


def test_a_calls_detail_has_its_reports_transcript_and_recording_url(
    client: TestClient[Any], deps: Deps, acme: TenantSession
) -> None:
    campaign = running_campaign(client, acme)
    key = f"{acme.id}/call0001/call.wav"
    lines = [{"speaker": "agent", "text": "Hello"}, {"speaker": "callee", "text": "Hi"}]
    call = finished(
        client, deps, acme, campaign, 1, "completed", transcript=lines, recording_key=key
    )
    store = deps.recordings
    assert isinstance(store, InMemoryRecordingStore)
    store.put(key, WAV, "audio/wav")

    detail = client.get(f"/v1/calls/{call.call_id}", headers=acme.headers)
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert body["call"]["disposition"] == "completed"
    assert "lease_token" not in body["call"]
    assert [(e["sequence"], e["kind"]) for e in body["events"]] == [(1, "attached"), (2, "ended")]
    assert body["transcript"] == lines
    assert body["recording_key"] == key
    assert store.fetch(body["recording_url"]) == WAV


def test_a_recording_outside_the_calls_folder_is_not_signed(
    client: TestClient[Any], deps: Deps, acme: TenantSession, globex: TenantSession
) -> None:
    campaign = running_campaign(client, acme)
    foreign = f"{globex.id}/call0009/call.wav"
    assert isinstance(deps.recordings, InMemoryRecordingStore)
    deps.recordings.put(foreign, WAV, "audio/wav")
    call = finished(client, deps, acme, campaign, 1, "completed", recording_key=foreign)
    body = client.get(f"/v1/calls/{call.call_id}", headers=acme.headers).json()
    assert (body["recording_key"], body["recording_url"]) == (None, None)
    assert body["transcript"] is None
