"""`POST /v1/livekit/webhook` on the real Mongo-wire server and Redis, with a real fleet worker
(Granian on a Unix socket, holding the internal token) as the inbound number's fleet host.

A webhook that LiveKit did not sign for this body — a wrong secret, another API key, an expired
token, a body whose SHA-256 is not the signed one, no token at all — is a 401 and leaves every
MongoDB document, every Redis key (but the rate limiter's) and the worker's slot as they were.
The same valid webhook twice is one call: one attach on the worker, one call record, the
second answer `duplicate`."""

from __future__ import annotations

import base64
import hashlib
import shutil
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import attrs
import pymongo
import pytest
from google.protobuf import json_format
from litestar.testing import TestClient
from livekit.api import AccessToken
from redis import Redis

from apps.api.deps import build_deps
from apps.api.main import create_app
from apps.api.settings import Settings
from tests.api.support import ADMIN, INTERNAL_TOKEN, bearer, make_tenant
from tests.api.webhooks import CALLED, LIVEKIT_KEY, LIVEKIT_SECRET, caller_joined, signed
from tests.integration.infra.support import FleetWorker, shared_dir

pytestmark = pytest.mark.integration

WEBHOOK = "/v1/livekit/webhook"


@attrs.frozen
class Inbound:
    client: TestClient[Any]
    settings: Settings
    worker: FleetWorker
    database: pymongo.database.Database[dict[str, Any]]
    redis: Redis


@pytest.fixture
def inbound(real_settings: Settings) -> Iterator[Inbound]:
    home = shared_dir("vox-sec-webhook-")
    # Long enough to see the attached call held through a test, no media ever comes.
    worker = FleetWorker(1, home, "host-in", media_wait_s=10.0)
    worker.env["VOX_FLEET_API_TOKEN"] = INTERNAL_TOKEN
    worker.start()
    mongo: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(real_settings.mongo_url)
    redis = Redis.from_url(real_settings.redis_url, decode_responses=True)
    try:
        with TestClient(create_app(real_settings, build_deps(real_settings))) as client:
            acme = make_tenant(client, "Acme")
            number = {"number": CALLED, "agent_id": acme.agent_id}
            added = client.post("/v1/inbound-numbers", json=number, headers=bearer(acme.token))
            assert added.status_code == 201, added.text
            host = {"id": "h1", "url": f"unix:{worker.socket}"}
            assert client.post("/v1/fleet-hosts", json=host, headers=ADMIN).status_code == 201
            database = mongo[str(real_settings.mongo_database)]
            yield Inbound(client, real_settings, worker, database, redis)
    finally:
        redis.close()
        mongo.close()
        # The attached call waits for media that never comes: no point waiting for it to end.
        worker.kill()
        shutil.rmtree(home, ignore_errors=True)


def state(inbound: Inbound) -> tuple[dict[str, list[Any]], dict[str, Any], dict[str, Any]]:
    """Every document, every Redis key of the API's prefix but the rate limiter's (each request
    spends a token), and the worker's slot."""
    database = inbound.database
    documents = {
        name: sorted(database[name].find(), key=lambda d: str(d["_id"]))
        for name in sorted(database.list_collection_names())
    }
    prefix = inbound.settings.redis_prefix
    keys = {
        key: inbound.redis.dump(key)
        for key in inbound.redis.scan_iter(f"{prefix}:*")
        if not key.startswith(f"{prefix}:rate:")
    }
    return documents, keys, inbound.worker.health()["slot"]


def forged(**changes: Any) -> tuple[bytes, dict[str, str]]:
    return signed(caller_joined(), **changes)


def other_body() -> tuple[bytes, dict[str, str]]:
    """A genuine signature, over another event than the body sent."""
    _, headers = signed(caller_joined())
    tampered = json_format.MessageToJson(caller_joined(called="+14155550999"))
    return tampered.encode(), headers


def unsigned_hash() -> tuple[bytes, dict[str, str]]:
    """A token signed with the right secret but claiming no body hash."""
    body, headers = signed(caller_joined())
    token = AccessToken(LIVEKIT_KEY, LIVEKIT_SECRET).with_ttl(timedelta(minutes=5)).to_jwt()
    return body, headers | {"Authorization": token}


def garbage_sha() -> tuple[bytes, dict[str, str]]:
    body, headers = signed(caller_joined())
    wrong = base64.b64encode(hashlib.sha256(body + b" ").digest()).decode()
    token = AccessToken(LIVEKIT_KEY, LIVEKIT_SECRET).with_sha256(wrong).to_jwt()
    return body, headers | {"Authorization": token}


Webhook = tuple[bytes, dict[str, str]]

FORGERIES: dict[str, Callable[[], Webhook]] = {
    "a wrong secret": lambda: forged(secret="another-secret-long-enough-for-hs256-signing"),
    "another API key": lambda: forged(key="APIsomeoneelse"),
    "an expired token": lambda: forged(ttl=timedelta(seconds=-60)),
    "a body that is not the signed one": other_body,
    "a hash of another body": garbage_sha,
    "no body hash": unsigned_hash,
    "no token": lambda: (forged()[0], {"Content-Type": "application/webhook+json"}),
    "an API key as the token": lambda: (forged()[0], bearer(INTERNAL_TOKEN)),
    "a token that is not a JWT": lambda: (forged()[0], {"Authorization": "x.y.z"}),
}


@pytest.mark.parametrize("forgery", FORGERIES, ids=list(FORGERIES))
def test_a_webhook_livekit_did_not_sign_is_401_and_changes_nothing(
    inbound: Inbound, forgery: str
) -> None:
    before = state(inbound)
    body, headers = FORGERIES[forgery]()
    answer = inbound.client.post(WEBHOOK, content=body, headers=headers)
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"] == "unauthorized"
    assert state(inbound) == before
    # The genuine event still goes through: nothing was claimed by the forgery.
    body, headers = signed(caller_joined())
    assert inbound.client.post(WEBHOOK, content=body, headers=headers).json()["outcome"] == (
        "attached"
    )


def test_the_same_webhook_twice_is_one_call(inbound: Inbound) -> None:
    body, headers = signed(caller_joined())
    first = inbound.client.post(WEBHOOK, content=body, headers=headers)
    assert first.json() == {"outcome": "attached", "call_id": "in-SCL_in1", "host": "h1"}
    after_first = state(inbound)
    again = inbound.client.post(WEBHOOK, content=body, headers=headers)
    assert again.status_code == 200, again.text
    assert again.json() == {"outcome": "duplicate"}
    assert state(inbound) == after_first
    assert inbound.worker.health()["slot"]["call_id"] == "in-SCL_in1"
    assert inbound.database["call_attempts"].count_documents({}) == 1
