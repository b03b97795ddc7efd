"""The main flows against the real Mongo-wire server (SecantusDB, or `VOX_TEST_MONGO_URL`) and
Redis (or Valkey), through the adapters `build_deps` picks for the `real` backend. Data is kept
small: SecantusDB scans."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import attrs
import pytest
from litestar.testing import TestClient

from apps.api.main import create_app
from apps.api.settings import Settings
from tests.api.support import (
    ADMIN,
    INTERNAL_TOKEN,
    assert_error,
    bearer,
    make_campaign,
    make_tenant,
    real_backend,
)
from tests.api.webhooks import CALLED, LIVEKIT_KEY, LIVEKIT_SECRET, caller_joined, signed
from voxcore_adapters.testing.process import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def real_settings(mongo_server_url: str, redis_server_url: str) -> Iterator[Settings]:
    with real_backend(mongo_server_url, redis_server_url, import_batch_rows=7) as settings:
        yield settings


def phone(n: int) -> str:
    return f"+1415{n:07d}"


def test_the_main_flows_on_mongo_and_redis(real_settings: Settings) -> None:
    with TestClient(create_app(real_settings)) as client:
        assert client.get("/health").json() == {
            "status": "ok",
            "checks": {"mongo": "ok", "redis": "ok"},
        }
        acme = make_tenant(client, "Acme")
        globex = make_tenant(client, "Globex")
        campaign = make_campaign(client, acme, timezone="Europe/London")

        changed = client.patch(
            f"/v1/campaigns/{campaign}",
            json={"pacing": {"mode": "ratio:2"}, "window": {"start": "09:00", "end": "17:30"}},
            headers=acme.headers,
        ).json()
        assert changed["pacing"]["mode"] == "ratio:2"
        assert client.get(f"/v1/campaigns/{campaign}", headers=acme.headers).json() == changed
        started = client.post(f"/v1/campaigns/{campaign}/start", headers=acme.headers)
        assert started.json()["state"] == "running"
        resumed = client.post(f"/v1/campaigns/{campaign}/resume", headers=acme.headers)
        assert_error(resumed, 409, "state")

        # 20 rows in batches of 7: a duplicate of a row in an earlier batch, a bad number.
        rows = [{"phone": phone(n), "variables": {"n": n}} for n in range(18)]
        rows += [{"phone": phone(3)}, {"phone": "+1"}]
        imported = client.post(
            f"/v1/campaigns/{campaign}/contacts/import",
            content=json.dumps(rows).encode(),
            headers=acme.headers | {"content-type": "application/json"},
        ).json()
        assert (imported["inserted"], imported["rejected"], imported["complete"]) == (18, 2, True)
        assert [(e["row"], e["field"]) for e in imported["errors"]] == [
            (19, "phone"),
            (20, "phone"),
        ]

        path = f"/v1/campaigns/{campaign}/contacts"
        first = client.get(path, params={"limit": 10}, headers=acme.headers).json()
        rest = client.get(
            path, params={"limit": 10, "after": first["next_after"]}, headers=acme.headers
        ).json()
        phones = sorted(c["phone"] for c in first["items"] + rest["items"])
        assert phones == [phone(n) for n in range(18)]
        assert rest["next_after"] is None
        counts = client.get(f"{path}/counts", headers=acme.headers).json()
        assert counts["total"] == 18
        assert counts["states"]["ready"] == 18

        assert client.post("/v1/dnc", json={"phones": [phone(1)]}, headers=acme.headers).json() == {
            "added": 1
        }
        assert client.get(f"/v1/dnc/{phone(1)}", headers=acme.headers).json()["blocked"] is True
        assert client.get(f"/v1/dnc/{phone(1)}", headers=globex.headers).json()["blocked"] is False
        assert client.delete(f"/v1/dnc/{phone(1)}", headers=acme.headers).status_code == 204

        # Another tenant holding the ids gets nothing.
        assert_error(
            client.get(f"/v1/campaigns/{campaign}", headers=globex.headers), 404, "campaign_id"
        )
        assert_error(client.get(f"{path}/counts", headers=globex.headers), 404, "campaign_id")

        # A revoked key is refused on the next request.
        revoked = client.delete(f"/v1/tenants/{acme.id}/api-keys/{acme.key_id}", headers=ADMIN)
        assert revoked.status_code == 204
        assert_error(client.get("/v1/campaigns", headers=acme.headers), 401, None)
        keys = client.get(f"/v1/tenants/{acme.id}/api-keys", headers=ADMIN).json()
        assert [k["active"] for k in keys] == [False]


def test_the_rate_limit_is_kept_in_redis(real_settings: Settings) -> None:
    limited = attrs.evolve(real_settings, rate_limit_per_s=0.01, rate_limit_burst=3)
    with TestClient(create_app(limited)) as client:
        for _ in range(3):
            assert client.get("/v1/tenants", headers=ADMIN).status_code == 200
        refused = client.get("/v1/tenants", headers=ADMIN)
    assert_error(refused, 429, None, "rate_limited")
    assert 90 <= int(refused.headers["Retry-After"]) <= 100
    # A second API process shares the bucket.
    with TestClient(create_app(limited)) as other:
        assert other.get("/v1/tenants", headers=ADMIN).status_code == 429


def test_without_redis_health_says_so_and_requests_still_go_through(
    real_settings: Settings,
) -> None:
    no_redis = attrs.evolve(real_settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with TestClient(create_app(no_redis)) as client:
        health = client.get("/health")
        assert health.status_code == 503
        assert health.json()["checks"] == {"mongo": "ok", "redis": "error: ConnectionError"}
        # The rate limit cannot be checked: requests are let through, not failed.
        assert client.get("/v1/tenants", headers=ADMIN).status_code == 200
        assert_error(client.get("/v1/tenants", headers=bearer("nope")), 401, None)


def test_agents_and_their_runtime_config_on_mongo_and_redis(real_settings: Settings) -> None:
    agent = {"name": "Reminders", "greeting": "Hello, an automated assistant for Acme here."}
    with TestClient(create_app(real_settings)) as client:
        acme = make_tenant(client, "Acme")
        created = client.post("/v1/agents", json=agent, headers=acme.headers).json()
        path = f"/v1/agents/{created['id']}"
        config_path = f"/v1/runtime-config/{created['id']}"
        internal = bearer(INTERNAL_TOKEN)
        assert client.get(config_path, headers=internal).json()["version"] == 1

        # The compare-and-set on MongoDB: an edit made from version 1 again loses.
        changed = client.patch(path, json={"version": 1, "voice": "verse"}, headers=acme.headers)
        assert changed.json()["version"] == 2
        stale = client.patch(path, json={"version": 1, "voice": "alloy"}, headers=acme.headers)
        assert_error(stale, 409, "version", "conflict")

        # The Redis entry was invalidated by the change: the new version is served at once,
        # and by a second API process too.
        config = client.get(config_path, headers=internal).json()
        assert (config["voice"], config["version"]) == ("verse", 2)
        with TestClient(create_app(real_settings)) as other:
            assert other.get(config_path, headers=internal).json() == config

            # The other process now answers from its near copy; a change made through this
            # one is announced over Redis and reaches it within moments.
            edited = client.patch(path, json={"version": 2, "voice": "sage"}, headers=acme.headers)
            assert edited.json()["version"] == 3
            deadline = time.monotonic() + 5
            while other.get(config_path, headers=internal).json()["version"] != 3:
                assert time.monotonic() < deadline, "the change never reached the other API"
                time.sleep(0.02)

            assert client.delete(path, headers=acme.headers).status_code == 204
            assert_error(client.get(config_path, headers=internal), 404, "agent_id")
            deadline = time.monotonic() + 5
            while other.get(config_path, headers=internal).status_code != 404:
                assert time.monotonic() < deadline, "the delete never reached the other API"
                time.sleep(0.02)


def test_trunks_numbers_hosts_and_webhooks_on_mongo_and_redis(real_settings: Settings) -> None:
    configured = attrs.evolve(
        real_settings, livekit_api_key=LIVEKIT_KEY, livekit_api_secret=LIVEKIT_SECRET
    )
    with TestClient(create_app(configured)) as client:
        acme = make_tenant(client, "Acme")
        globex = make_tenant(client, "Globex")
        campaign = make_campaign(client, acme)
        in_use = client.delete(f"/v1/trunks/{acme.trunk_id}", headers=acme.headers)
        assert_error(in_use, 409, "trunk_id")
        assert campaign in in_use.json()["message"]

        routed = client.post(
            "/v1/inbound-numbers",
            json={"number": CALLED, "agent_id": acme.agent_id},
            headers=acme.headers,
        )
        assert routed.status_code == 201, routed.text
        taken = client.post(
            "/v1/inbound-numbers",
            json={"number": CALLED, "agent_id": globex.agent_id},
            headers=globex.headers,
        )
        assert_error(taken, 409, "number")

        # A free port: nothing listens, the connection is refused.
        host = {"id": "h1", "url": f"http://127.0.0.1:{free_port()}", "enabled": False}
        assert client.post("/v1/fleet-hosts", json=host, headers=ADMIN).status_code == 201
        assert client.get("/v1/fleet-hosts", headers=ADMIN).json() == [host]

        # No enabled host: unplaced, and the event is left for LiveKit's redelivery.
        body, headers = signed(caller_joined())
        for _ in range(2):
            answer = client.post("/v1/livekit/webhook", content=body, headers=headers)
            assert_error(answer, 503, None, "unavailable")
        client.patch("/v1/fleet-hosts/h1", json={"enabled": True}, headers=ADMIN)
        # The host refuses the connection: still unplaced, still retryable.
        answer = client.post("/v1/livekit/webhook", content=body, headers=headers)
        assert_error(answer, 503, None, "unavailable")
