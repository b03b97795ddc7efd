"""The call-event contract, call search and detail and campaign stats against the real
Mongo-wire server, Redis and an S3 server (SeaweedFS, or `VOX_TEST_S3_URL`), through the adapters
`build_deps` picks for the `real` backend."""

from __future__ import annotations

import asyncio
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pymongo
import pytest
from litestar.testing import TestClient
from redis.asyncio import Redis

from apps.api.call_reporting import receive
from apps.api.deps import build_deps
from apps.api.main import create_app
from apps.api.settings import Settings
from tests.api.calls_support import dial, post_report, report
from tests.api.support import (
    INTERNAL,
    assert_error,
    daytime_zone,
    make_campaign,
    make_tenant,
    real_backend,
)
from voxcore_adapters.mongo.documents import to_millis
from voxcore_adapters.redis.events import RedisCallEvents
from voxcore_adapters.s3 import S3Connection
from voxcore_adapters.testing.s3_server import s3_server
from voxcore_domain.callevents import CallEvent, CallEventKind, StreamedEvent
from voxcore_domain.callreports import CallReport
from voxcore_domain.model import CallAttempt, ContactState

pytestmark = pytest.mark.integration

WAV = b"RIFF\x24\x00\x00\x00WAVEfmt "


@pytest.fixture(scope="module")
def s3_connection() -> Iterator[S3Connection]:
    with s3_server() as connection:
        yield connection


@pytest.fixture
def real_settings(
    mongo_server_url: str, redis_server_url: str, s3_connection: S3Connection
) -> Iterator[Settings]:
    with real_backend(
        mongo_server_url,
        redis_server_url,
        s3_url=s3_connection.url,
        s3_access_key=s3_connection.access_key,
        s3_secret_key=s3_connection.secret_key,
        s3_region=s3_connection.region,
        s3_bucket=f"rec-{uuid.uuid4().hex[:12]}",
    ) as settings:
        yield settings


async def streamed(settings: Settings, campaign_id: str) -> list[StreamedEvent]:
    """The campaign's stream as another process (the console) reads it."""
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        return await RedisCallEvents(redis, settings.redis_prefix).read(campaign_id)
    finally:
        await redis.aclose()


def test_calls_reported_searched_and_read_on_mongo_redis_and_s3(real_settings: Settings) -> None:
    deps = build_deps(real_settings)
    with TestClient(create_app(real_settings, deps)) as client:
        acme = make_tenant(client, "Acme")
        globex = make_tenant(client, "Globex")
        campaign = make_campaign(client, acme, timezone=daytime_zone())
        assert client.post(f"/v1/campaigns/{campaign}/start", headers=acme.headers).is_success
        talked = dial(client, deps, acme, campaign, "+14155550101", "call0001")
        abandoned = dial(client, deps, acme, campaign, "+14155550102", "call0002")
        t0 = deps.clock.now()

        # Out of order, repeated, and the first end wins.
        key = f"{acme.id}/call0001/call.wav"
        assert deps.recordings is not None
        deps.recordings.put(key, WAV, "audio/wav")
        lines = [{"speaker": "agent", "text": "Hello"}]
        ended = report(
            talked,
            3,
            "ended",
            t0 + timedelta(seconds=40),
            disposition="completed",
            detail={"transcript": lines, "recording_key": key},
        )
        assert post_report(client, ended).json()["contact"] == "closed"
        assert post_report(client, ended).json()["duplicate"] is True
        attached = report(talked, 2, "attached", t0 + timedelta(seconds=2), worker="h1/w1")
        assert post_report(client, attached).status_code == 202
        late_end = report(talked, 4, "ended", t0 + timedelta(seconds=50), disposition="failed")
        assert post_report(client, late_end).json()["contact"] == "unchanged"
        assert_error(
            post_report(client, report(talked, 2, "answered", t0)), 409, "sequence", "conflict"
        )
        # A stale token: the outcome is recorded, the contact is left in its call.
        stale = report(abandoned, 1, "ended", t0, disposition="abandoned", lease_token="f" * 32)
        assert post_report(client, stale).json()["contact"] == "stale"

        attempt = deps.call_log.get("call0001")
        assert attempt is not None
        assert (attempt.disposition, attempt.worker) == ("completed", "h1/w1")
        assert attempt.attached_at == t0.replace(
            microsecond=t0.microsecond // 1000 * 1000
        ) + timedelta(seconds=2)
        contact = deps.leases.get(abandoned.lease.contact_id)  # type: ignore[attr-defined]
        assert contact.state is ContactState.ATTACHED
        events = asyncio.run(streamed(real_settings, campaign))
        assert [e.event.kind for e in events] == [
            CallEventKind.ENDED,
            CallEventKind.ATTACHED,
            CallEventKind.ENDED,
            CallEventKind.ENDED,
        ]

        found = client.get("/v1/calls", params={"limit": 1}, headers=acme.headers).json()
        following = client.get(
            "/v1/calls", params={"limit": 1, "cursor": found["next_cursor"]}, headers=acme.headers
        ).json()
        assert {found["items"][0]["id"], following["items"][0]["id"]} == {"call0001", "call0002"}
        assert (
            client.get(
                "/v1/calls", params={"disposition": "abandoned"}, headers=acme.headers
            ).json()["items"][0]["id"]
            == "call0002"
        )

        detail = client.get("/v1/calls/call0001", headers=acme.headers).json()
        assert [e["sequence"] for e in detail["events"]] == [2, 3, 4]
        assert detail["transcript"] == lines
        with urllib.request.urlopen(detail["recording_url"], timeout=10) as fetched:
            assert fetched.read() == WAV
        assert_error(client.get("/v1/calls/call0001", headers=globex.headers), 404, "call_id")

        stats = client.get(f"/v1/campaigns/{campaign}/stats", headers=INTERNAL).json()
        hour = stats["last_hour"]
        assert (hour["dials"], hour["live_answers"], hour["abandoned"]) == (2, 2, 1)
        assert hour["abandon_rate"] == 0.5
        assert_error(
            client.get(f"/v1/campaigns/{campaign}/stats", headers=globex.headers),
            404,
            "campaign_id",
        )


def test_the_stats_tally_reads_an_index(real_settings: Settings) -> None:
    """The campaign tally's `$match` is answered from the `campaign` index, not a scan."""
    deps = build_deps(real_settings)
    with TestClient(create_app(real_settings, deps)):
        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(real_settings.mongo_url)
        db = client[str(real_settings.mongo_database)]
        now = deps.clock.now()
        plan = db.command(
            "explain",
            {
                "find": "call_attempts",
                "filter": {
                    "campaign_id": "c1",
                    "dialed_at": {"$gte": now - timedelta(hours=1), "$lt": now},
                },
            },
        )
        client.close()
    assert "IXSCAN" in str(plan["queryPlanner"]["winningPlan"])


def test_reports_of_one_call_applied_at_once_all_land(real_settings: Settings) -> None:
    """Eight reports of one call applied concurrently (each merge in its own thread, against
    MongoDB): the compare-and-set keeps every one, so the earliest instants win."""
    deps = build_deps(real_settings)
    t0 = to_millis(deps.clock.now())
    deps.call_log.record(CallAttempt("call0001", "k1", "c1", "t1", 1, "f" * 32, t0))

    def reported(sequence: int, kind: str, second: int) -> CallReport:
        at = t0 + timedelta(seconds=second)
        event = CallEvent(kind, "call0001", "c1", "t1", at, worker=f"h1/w{sequence}")
        return CallReport("call0001", sequence, event, "f" * 32)

    reports = [reported(n, "answered", 10 - n) for n in range(1, 5)]
    reports += [reported(n, "attached", 20 - n) for n in range(5, 9)]

    async def apply_all() -> tuple[CallAttempt | None, list[CallReport]]:
        try:
            await asyncio.gather(*(receive(deps, r) for r in reports))
            return deps.call_log.get("call0001"), deps.call_reports.for_call("call0001")
        finally:
            for close in deps.closers:
                await close()

    attempt, stored = asyncio.run(apply_all())
    assert attempt is not None
    assert attempt.answered_at == t0 + timedelta(seconds=6)
    assert attempt.attached_at == t0 + timedelta(seconds=12)
    assert attempt.worker is not None
    assert [r.sequence for r in stored] == list(range(1, 9))
