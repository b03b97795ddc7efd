"""Who may call what: keys, roles, revocation, rate limits, and secrets kept out of logs."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from apps.api.deps import Deps
from apps.api.main import create_app
from apps.api.settings import Settings
from tests.api.support import (
    ADMIN,
    ADMIN_KEY,
    INTERNAL,
    INTERNAL_TOKEN,
    TenantSession,
    assert_error,
    bearer,
    campaign_body,
    make_tenant,
)
from voxcore_adapters.fakes.redis_fakes import ManualClock


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": f"Basic {ADMIN_KEY}"},
        bearer("not-a-key"),
        bearer(ADMIN_KEY + "x"),
        bearer("vbk_0123456789abcdef_" + "x" * 43),
        bearer("vbk_nothex!!nothex!_" + "x" * 43),
    ],
)
def test_a_request_without_a_valid_key_is_401(
    client: TestClient[Any], headers: dict[str, str]
) -> None:
    response = client.get("/v1/campaigns", headers=headers)
    assert_error(response, 401, None, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_key_with_a_wrong_secret_is_401(client: TestClient[Any], acme: TenantSession) -> None:
    forged = f"vbk_{acme.key_id}_{'A' * 43}"
    assert_error(client.get("/v1/campaigns", headers=bearer(forged)), 401, None)
    assert client.get("/v1/campaigns", headers=acme.headers).status_code == 200


def test_health_metrics_and_schema_need_no_key(client: TestClient[Any]) -> None:
    assert client.get("/health").status_code == 200
    assert client.get("/metrics").status_code == 200
    assert client.get("/schema/openapi.json").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/v1/tenants", {"admin"}),
        ("GET", "/v1/campaigns", {"tenant", "admin"}),
        ("GET", "/v1/dnc/+14155550100", {"tenant", "admin"}),
        ("GET", "/v1/fleet-hosts", {"admin", "internal"}),
        ("GET", "/v1/tenants/{tenant}/api-keys", {"admin", "tenant"}),
    ],
)
def test_each_route_admits_only_its_roles(
    client: TestClient[Any], acme: TenantSession, method: str, path: str, allowed: set[str]
) -> None:
    # The admin acts for one tenant on a tenant's routes (X-Vox-Tenant; ignored elsewhere).
    admin = ADMIN | {"X-Vox-Tenant": acme.id}
    callers = {"admin": admin, "tenant": acme.headers, "internal": INTERNAL}
    for role, headers in callers.items():
        response = client.request(method, path.format(tenant=acme.id), headers=headers)
        if role in allowed:
            assert response.status_code == 200, (role, response.text)
        else:
            assert_error(response, 403, None, "forbidden")


def test_a_revoked_key_stops_working_at_once(client: TestClient[Any], acme: TenantSession) -> None:
    second = client.post(
        f"/v1/tenants/{acme.id}/api-keys", json={"name": "dialler"}, headers=acme.headers
    ).json()
    other = bearer(second["token"])
    assert client.get("/v1/campaigns", headers=other).status_code == 200
    revoked = client.delete(f"/v1/tenants/{acme.id}/api-keys/{second['key']['id']}", headers=ADMIN)
    assert revoked.status_code == 204
    assert_error(client.get("/v1/campaigns", headers=other), 401, None)
    assert client.get("/v1/campaigns", headers=acme.headers).status_code == 200


def limited_client(settings: Settings, deps: Deps, per_s: float, burst: int) -> TestClient[Any]:
    limited = Settings(
        admin_key=settings.admin_key,
        internal_token=settings.internal_token,
        backend=settings.backend,
        rate_limit_per_s=per_s,
        rate_limit_burst=burst,
    )
    return TestClient(create_app(limited, deps))


def test_each_key_has_its_own_rate_limit(
    settings: Settings, deps: Deps, clock: ManualClock
) -> None:
    # The admin spends its four tokens making the two tenants.
    with limited_client(settings, deps, per_s=2.0, burst=4) as client:
        acme = make_tenant(client, "Acme")
        globex = make_tenant(client, "Globex")
        # `make_tenant` spent two of each tenant's tokens making its agent and its trunk.
        for _ in range(2):
            assert client.get("/v1/campaigns", headers=acme.headers).status_code == 200
        refused = client.get("/v1/campaigns", headers=acme.headers)
        assert_error(refused, 429, None, "rate_limited")
        # One token comes back every half second: the client is told to wait a whole second.
        assert refused.headers["Retry-After"] == "1"
        assert client.get("/v1/campaigns", headers=globex.headers).status_code == 200
        clock.advance(timedelta(milliseconds=500))
        assert client.get("/v1/campaigns", headers=acme.headers).status_code == 200
        assert client.get("/v1/campaigns", headers=acme.headers).status_code == 429


def test_the_admin_is_limited_and_the_internal_token_is_not(settings: Settings, deps: Deps) -> None:
    with limited_client(settings, deps, per_s=0.01, burst=2) as client:
        for _ in range(2):
            assert client.get("/v1/tenants", headers=ADMIN).status_code == 200
        refused = client.get("/v1/tenants", headers=ADMIN)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) == 100
        for _ in range(5):
            assert client.get("/v1/campaigns", headers=INTERNAL).status_code == 403


def test_no_secret_reaches_the_logs(
    client: TestClient[Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    acme = make_tenant(client, "Acme")
    _, _, secret = acme.token.split("_", 2)
    client.post("/v1/campaigns", json=campaign_body(acme), headers=acme.headers)
    client.get("/v1/campaigns", headers=bearer(f"vbk_{acme.key_id}_{'B' * 43}"))
    client.get("/v1/campaigns", headers=bearer(acme.token + "x"))
    client.get("/v1/campaigns", headers=INTERNAL)
    client.delete(f"/v1/tenants/{acme.id}/api-keys/{acme.key_id}", headers=ADMIN)
    client.get("/v1/campaigns", headers=acme.headers)
    logged = caplog.text
    assert "refused API key" in logged, "the check must see the refusals' log lines"
    for secret_text in (ADMIN_KEY, INTERNAL_TOKEN, acme.token, secret, "B" * 43):
        assert secret_text not in logged
    assert ADMIN_KEY not in repr(client.app) + repr(Settings(ADMIN_KEY, INTERNAL_TOKEN))
