"""A call from the contact to the API's record of it, every role real: the API (Granian, on the
Mongo-wire test server, Redis and S3) and a fleet worker (Granian on a Unix socket, Redis for its
slot, S3 for its recordings) with `VOX_FLEET_API_URL`/`VOX_FLEET_API_TOKEN` pointing at the API.

The tenant, agent, campaign and contact are made through the API; the contact is leased and its
attempt recorded through the same Mongo stores the dialler uses; the call is handed to the
worker with `POST /attach` and carried by a Twilio-style stream. Then the API has it all: the
attempt ended with the call's disposition, the contact closed by the campaign's retry policy
(only with the lease's own token: a stale token leaves it as it is), and the worker's reports in
`GET /v1/calls/{id}` with the transcript and the recording's key.

A stand-alone dial-out (`POST /livekit/dialout`, outside any campaign) goes the same way against
the LiveKit Twirp double (the callee is busy, so no room is joined: no LiveKit server can run
here): the worker's reports record the call in the API as the tenant's `dialout`, with no
campaign, and leave the worker's spool.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import httpx
import pymongo
import pytest

from tests.api.support import ADMIN, TRUNK, bearer, daytime_zone
from tests.fleet.test_granian import Stream, Worker, media_session
from voxcore_adapters.fakes.media_fakes import Callee
from voxcore_adapters.mongo import MongoCallLog, MongoCampaigns, MongoContactLeases
from voxcore_adapters.s3 import S3Connection
from voxcore_adapters.testing.asgi_server import served, url
from voxcore_adapters.testing.carrier import TwilioCarrier
from voxcore_adapters.testing.livekit_double import LiveKitDouble
from voxcore_adapters.testing.mongo_server import mongo_url
from voxcore_adapters.testing.process import ServerProcess
from voxcore_adapters.voice.tones import ToneSynth
from voxcore_domain.model import CallAttempt, ContactState, Lease

pytestmark = pytest.mark.integration

ADMIN_KEY = "admin-" + "a" * 40  # tests.api.support.ADMIN's key
TOKEN = "internal-" + "e" * 40
AGENT = {
    "name": "Reminders",
    "greeting": "Hello {name}, Acme Dental calling about your visit.",
    "prompts": {"reply_1": "Shall we keep your booking?", "closing": "See you soon. Bye."},
}


@attrs.frozen
class Seeded:
    """What the test made through the API."""

    tenant_id: str
    token: str = attrs.field(repr=False)
    agent_id: str
    campaign_id: str


@pytest.fixture(scope="module")
def mongo_server_url() -> Iterator[str]:
    with mongo_url() as found:
        yield found


@pytest.fixture
def database(mongo_server_url: str) -> Iterator[Any]:
    name = f"vox_e2e_{uuid.uuid4().hex[:12]}"
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(mongo_server_url)
    yield client[name]
    client.drop_database(name)
    client.close()


@pytest.fixture
def api(
    database: Any,
    mongo_server_url: str,
    redis_server_url: str,
    s3_connection: S3Connection,
    bucket: str,
) -> Iterator[ServerProcess]:
    server = served(
        "api",
        "apps.api.main:create_app",
        {
            "VOX_API_BACKEND": "real",
            "VOX_API_ADMIN_KEY": ADMIN_KEY,
            "VOX_API_INTERNAL_TOKEN": TOKEN,
            "VOX_MONGO_URL": mongo_server_url,
            "VOX_MONGO_DATABASE": database.name,
            "VOX_REDIS_URL": redis_server_url,
            "VOX_REDIS_PREFIX": f"vox-e2e-{database.name}",
            "VOX_S3_URL": s3_connection.url,
            "VOX_S3_ACCESS_KEY": s3_connection.access_key,
            "VOX_S3_SECRET_KEY": s3_connection.secret_key,
            "VOX_S3_REGION": s3_connection.region,
            "VOX_S3_BUCKET": bucket,
        },
    )
    with server:
        yield server


@pytest.fixture
def livekit() -> Iterator[LiveKitDouble]:
    with LiveKitDouble(trunks=("ST_e2e",)) as double:
        yield double


@pytest.fixture
def worker(
    tmp_path: Path,
    api: ServerProcess,
    database: Any,
    redis_server_url: str,
    s3_connection: S3Connection,
    bucket: str,
    livekit: LiveKitDouble,
) -> Iterator[Worker]:
    env = {
        "VOX_FLEET_WORKER": "e1",
        "VOX_FLEET_HOST": "e2e-host",
        "VOX_FLEET_SOCKET": str(tmp_path / "e1.sock"),
        "VOX_FLEET_BACKEND": "real",
        "VOX_FLEET_API_URL": url(api),
        "VOX_FLEET_API_TOKEN": TOKEN,
        "VOX_REDIS_URL": redis_server_url,
        "VOX_REDIS_PREFIX": f"vox-e2e-{database.name}",
        "VOX_S3_URL": s3_connection.url,
        "VOX_S3_ACCESS_KEY": s3_connection.access_key,
        "VOX_S3_SECRET_KEY": s3_connection.secret_key,
        "VOX_S3_REGION": s3_connection.region,
        "VOX_S3_BUCKET": bucket,
        "VOX_FLEET_SPOOL_DIR": str(tmp_path / "spool"),
        "VOX_FLEET_MEDIA_WAIT_S": "5",
        "VOX_FLEET_REPORT_BACKOFF_S": "0.1",
        "VOX_FLEET_LIVEKIT_URL": livekit.url,
        "VOX_FLEET_LIVEKIT_API_KEY": livekit.api_key,
        "VOX_FLEET_LIVEKIT_API_SECRET": livekit.api_secret,
    }
    started = Worker(tmp_path / "e1.sock", env, tmp_path / "granian.log")
    yield started
    started.stop()


def seed(api: ServerProcess, phones: list[str]) -> Seeded:
    """A tenant with an agent, a trunk and a running campaign calling `phones`, all through the
    API as an operator and the tenant's CRM would make them."""
    with httpx.Client(base_url=url(api), timeout=10) as client:
        tenant = client.post("/v1/tenants", json={"name": "Acme"}, headers=ADMIN)
        assert tenant.status_code == 201, tenant.text
        tenant_id = tenant.json()["id"]
        key = client.post(f"/v1/tenants/{tenant_id}/api-keys", json={"name": "crm"}, headers=ADMIN)
        assert key.status_code == 201, key.text
        headers = bearer(key.json()["token"])
        agent = client.post("/v1/agents", json=AGENT, headers=headers)
        assert agent.status_code == 201, agent.text
        trunk = client.post("/v1/trunks", json=TRUNK, headers=headers)
        assert trunk.status_code == 201, trunk.text
        campaign = client.post(
            "/v1/campaigns",
            json={
                "name": "Visits",
                "agent_id": agent.json()["id"],
                "trunk_id": trunk.json()["id"],
                "caller_id": TRUNK["caller_ids"][0],
                "timezone": daytime_zone(),
            },
            headers=headers,
        )
        assert campaign.status_code == 201, campaign.text
        campaign_id = campaign.json()["id"]
        imported = client.post(
            f"/v1/campaigns/{campaign_id}/contacts/import",
            content=json.dumps([{"phone": p, "variables": {"name": "Ann"}} for p in phones]),
            headers=headers | {"content-type": "application/json"},
        )
        assert imported.json()["inserted"] == len(phones), imported.text
        started = client.post(f"/v1/campaigns/{campaign_id}/start", headers=headers)
        assert started.is_success, started.text
    return Seeded(tenant_id, key.json()["token"], agent.json()["id"], campaign_id)


def dial(database: Any, seeded: Seeded, call_id: str) -> Lease:
    """Lease one contact and record its answered attempt, through the dialler's Mongo stores."""
    campaign = MongoCampaigns(database).get(seeded.campaign_id)
    assert campaign is not None
    leases = MongoContactLeases(database)
    now = datetime.now(UTC)
    (lease,) = leases.lease(campaign, 1, "dialler-e2e", now, timedelta(minutes=10))
    for state in (ContactState.DIALING, ContactState.ANSWERED, ContactState.ATTACHED):
        leases.advance(lease, state, now)
    MongoCallLog(database).record(
        CallAttempt(
            call_id, lease.contact_id, seeded.campaign_id, seeded.tenant_id, 1, lease.token, now
        )
    )
    return lease


async def talk(worker: Worker, seeded: Seeded, call_id: str, lease_token: str) -> TwilioCarrier:
    """Hand the call to the worker as the dialler does and hold the scripted conversation to
    its end (greeting, one reply, the closing)."""
    async with worker.http() as client:
        attached = await client.post(
            "/attach",
            json={
                "call_id": call_id,
                "tenant_id": seeded.tenant_id,
                "campaign_id": seeded.campaign_id,
                "agent_id": seeded.agent_id,
                "lease_token": lease_token,
                "variables": {"name": "Ann"},
                "media": {"kind": "stream", "carrier": "twilio"},
            },
            headers=bearer(TOKEN),
        )
        assert attached.status_code == 202, attached.text
    async with (
        media_session(worker) as session,
        session.ws_connect("http://fleet/media/twilio") as ws,
    ):
        stream = Stream(ws, TwilioCarrier({"call_id": call_id}))
        await stream.answer()
        greeting = "Hello Ann, Acme Dental calling about your visit."
        assert stream.carrier.prompts["greeting-1"] == ToneSynth().tones(greeting)
        await stream.listen()
        await stream.reply()
        assert stream.carrier.prompts["reply-2"] == ToneSynth().tones("Shall we keep your booking?")
        await stream.listen()
        await stream.reply()
        await stream.listen()
        assert await stream.closed() == (1000, "call ended: completed")
    return stream.carrier


def call_detail(api: ServerProcess, seeded: Seeded, call_id: str) -> dict[str, Any]:
    """`GET /v1/calls/{id}` once both of the worker's reports are in (they arrive in the
    background, after the call; a stand-alone call is unknown until the first one is)."""
    deadline = time.monotonic() + 15
    with httpx.Client(base_url=url(api), timeout=10) as client:
        while True:
            answer = client.get(f"/v1/calls/{call_id}", headers=bearer(seeded.token))
            if answer.status_code == 404 and time.monotonic() < deadline:
                time.sleep(0.1)
                continue
            assert answer.status_code == 200, answer.text
            detail: dict[str, Any] = answer.json()
            if len(detail["events"]) == 2 or time.monotonic() > deadline:
                return detail
            time.sleep(0.1)


async def test_a_carrier_call_through_a_real_worker_ends_in_the_apis_records(
    api: ServerProcess, worker: Worker, database: Any
) -> None:
    seeded = seed(api, ["+14155550101", "+14155550102"])
    leases = MongoContactLeases(database)

    held = dial(database, seeded, "e2e-call-1")
    await talk(worker, seeded, "e2e-call-1", held.token)
    detail = call_detail(api, seeded, "e2e-call-1")
    assert [(e["sequence"], e["kind"]) for e in detail["events"]] == [(1, "attached"), (2, "ended")]
    assert detail["events"][1]["disposition"] == "completed"
    assert detail["events"][1]["worker"] == "e2e-host/e1"
    assert detail["call"]["disposition"] == "completed"
    assert detail["call"]["worker"] == "e2e-host/e1"
    assert detail["recording_key"] == f"{seeded.tenant_id}/e2e-call-1/call.wav"
    kinds = [step["kind"] for step in detail["transcript"]]
    assert kinds.count("prompt") == 3
    contact = leases.get(held.contact_id)
    assert contact is not None
    assert contact.state is ContactState.DONE
    assert contact.lease is None

    # A report whose lease token no longer holds the contact ends the call, not the contact.
    stale = dial(database, seeded, "e2e-call-2")
    await talk(worker, seeded, "e2e-call-2", "f" * 32)
    detail = call_detail(api, seeded, "e2e-call-2")
    assert [e["kind"] for e in detail["events"]] == ["attached", "ended"]
    assert detail["call"]["disposition"] == "completed"
    contact = leases.get(stale.contact_id)
    assert contact is not None
    assert contact.state is ContactState.ATTACHED
    assert contact.lease is not None
    assert contact.lease.token == stale.token


async def test_a_stand_alone_dialout_is_recorded_as_the_tenants_call_in_no_campaign(
    api: ServerProcess, worker: Worker, livekit: LiveKitDouble, tmp_path: Path
) -> None:
    seeded = seed(api, ["+14155550101"])
    phone = "+14155550199"
    livekit.script(phone, Callee.busy())
    async with worker.http() as client:
        dialled = await client.post(
            "/livekit/dialout",
            json={
                "phone": phone,
                "trunk_id": "ST_e2e",
                "agent_id": seeded.agent_id,
                "tenant_id": seeded.tenant_id,
                "call_id": "e2e-dialout-1",
            },
            headers=bearer(TOKEN),
        )
        assert dialled.status_code == 202, dialled.text

    detail = call_detail(api, seeded, "e2e-dialout-1")
    assert [(e["sequence"], e["kind"]) for e in detail["events"]] == [(1, "attached"), (2, "ended")]
    call = detail["call"]
    assert (call["origin"], call["campaign_id"], call["contact_id"]) == ("dialout", None, None)
    assert (call["disposition"], call["worker"]) == ("busy", "e2e-host/e1")
    assert detail["transcript"] == []
    assert detail["events"][1]["detail"]["reason"].startswith("the dial was not answered")
    with httpx.Client(base_url=url(api), timeout=10) as http:
        listed = http.get("/v1/calls", headers=bearer(seeded.token)).json()["items"]
        assert [(c["id"], c["origin"]) for c in listed] == [("e2e-dialout-1", "dialout")]
        stats = http.get(f"/v1/campaigns/{seeded.campaign_id}/stats", headers=bearer(seeded.token))
        assert stats.json()["last_hour"]["dials"] == 0
    # The API took both reports: none waits in the worker's spool.
    spool = tmp_path / "spool" / "reports"
    deadline = time.monotonic() + 10
    while list(spool.glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(spool.glob("*.json")) == []
