"""`/v1/tenants` and `/v1/tenants/{id}/api-keys`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.api.support import ADMIN, TenantSession, assert_error, bearer
from voxcore_adapters.fakes.redis_fakes import ManualClock


def test_the_admin_creates_reads_lists_and_changes_tenants(client: TestClient[Any]) -> None:
    created = client.post(
        "/v1/tenants", json={"name": "Acme", "weight": 2.0, "max_concurrency": 40}, headers=ADMIN
    )
    assert created.status_code == 201
    acme = created.json()
    assert acme == {"id": acme["id"], "name": "Acme", "weight": 2.0, "max_concurrency": 40}
    assert len(acme["id"]) == 32
    other = client.post("/v1/tenants", json={"name": "Globex"}, headers=ADMIN).json()
    assert other["weight"] == 1.0
    assert other["max_concurrency"] is None
    assert client.get(f"/v1/tenants/{acme['id']}", headers=ADMIN).json() == acme
    listed = client.get("/v1/tenants", headers=ADMIN).json()
    assert sorted(t["id"] for t in listed) == sorted([acme["id"], other["id"]])
    changed = client.patch(
        f"/v1/tenants/{acme['id']}",
        json={"max_concurrency": None, "name": "Acme Ltd"},
        headers=ADMIN,
    )
    assert changed.status_code == 200
    assert changed.json() == acme | {"name": "Acme Ltd", "max_concurrency": None}
    assert client.get(f"/v1/tenants/{acme['id']}", headers=ADMIN).json() == changed.json()


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 400, "name"),
        ({"name": 3}, 400, "name"),
        ({"name": "Acme", "colour": "red"}, 400, "colour"),
        ({"name": "x" * 201}, 400, "name"),
        ({"name": "   "}, 422, "name"),
        ({"name": "Acme", "weight": 0}, 422, "weight"),
        ({"name": "Acme", "weight": "heavy"}, 400, "weight"),
        ({"name": "Acme", "max_concurrency": 0}, 422, "max_concurrency"),
        ({"name": "Acme", "max_concurrency": 1.5}, 400, "max_concurrency"),
    ],
)
def test_a_bad_tenant_is_refused_naming_the_field(
    client: TestClient[Any], body: dict[str, Any], status: int, field: str
) -> None:
    assert_error(client.post("/v1/tenants", json=body, headers=ADMIN), status, field)
    assert client.get("/v1/tenants", headers=ADMIN).json() == []


def test_malformed_json_is_a_400_naming_the_body(client: TestClient[Any]) -> None:
    response = client.post(
        "/v1/tenants", content=b'{"name": ', headers=ADMIN | {"content-type": "application/json"}
    )
    assert_error(response, 400, "body", "bad_request")


def test_a_bad_patch_changes_nothing(client: TestClient[Any], acme: TenantSession) -> None:
    before = client.get(f"/v1/tenants/{acme.id}", headers=ADMIN).json()
    response = client.patch(
        f"/v1/tenants/{acme.id}", json={"name": "New", "weight": -1}, headers=ADMIN
    )
    assert_error(response, 422, "weight")
    assert client.get(f"/v1/tenants/{acme.id}", headers=ADMIN).json() == before


def test_an_unknown_tenant_is_404(client: TestClient[Any]) -> None:
    assert_error(client.get("/v1/tenants/nope", headers=ADMIN), 404, "tenant_id", "not_found")
    assert_error(client.patch("/v1/tenants/nope", json={}, headers=ADMIN), 404, "tenant_id")
    assert_error(
        client.post("/v1/tenants/nope/api-keys", json={"name": "k"}, headers=ADMIN),
        404,
        "tenant_id",
    )


def test_a_tenant_reads_itself_and_manages_its_keys(
    client: TestClient[Any], acme: TenantSession, clock: ManualClock
) -> None:
    assert client.get(f"/v1/tenants/{acme.id}", headers=acme.headers).json()["name"] == "Acme"
    clock.advance(timedelta(minutes=1))
    issued = client.post(
        f"/v1/tenants/{acme.id}/api-keys", json={"name": "dialler"}, headers=acme.headers
    )
    assert issued.status_code == 201
    body = issued.json()
    key = body["key"]
    assert body["token"].startswith(f"vbk_{key['id']}_")
    assert key["tenant_id"] == acme.id
    assert key["active"]
    assert key["revoked_at"] is None
    listed = client.get(f"/v1/tenants/{acme.id}/api-keys", headers=acme.headers).json()
    assert [k["name"] for k in listed] == ["crm", "dialler"]
    assert all("token" not in k and "secret_sha256" not in k for k in listed)
    assert body["token"] not in str(listed)
    assert client.delete(f"/v1/tenants/{acme.id}/api-keys/{key['id']}", headers=acme.headers)
    revoked = client.get(f"/v1/tenants/{acme.id}/api-keys", headers=acme.headers).json()[1]
    assert not revoked["active"]
    assert revoked["revoked_at"] is not None
    # Revoking again keeps the first time.
    again = client.delete(f"/v1/tenants/{acme.id}/api-keys/{key['id']}", headers=acme.headers)
    assert again.status_code == 204
    assert client.get(f"/v1/tenants/{acme.id}/api-keys", headers=ADMIN).json()[1] == revoked
    assert_error(client.get("/v1/campaigns", headers=bearer(body["token"])), 401, None)


def test_a_key_needs_a_name(client: TestClient[Any], acme: TenantSession) -> None:
    path = f"/v1/tenants/{acme.id}/api-keys"
    assert_error(client.post(path, json={}, headers=acme.headers), 400, "name")
    assert_error(client.post(path, json={"name": ""}, headers=acme.headers), 422, "name")


def test_an_unknown_key_is_404(client: TestClient[Any], acme: TenantSession) -> None:
    response = client.delete(f"/v1/tenants/{acme.id}/api-keys/nope", headers=ADMIN)
    assert_error(response, 404, "key_id")


def test_only_the_admin_creates_lists_and_changes_tenants(
    client: TestClient[Any], acme: TenantSession
) -> None:
    assert_error(client.post("/v1/tenants", json={"name": "X"}, headers=acme.headers), 403, None)
    assert_error(client.get("/v1/tenants", headers=acme.headers), 403, None)
    assert_error(client.patch(f"/v1/tenants/{acme.id}", json={}, headers=acme.headers), 403, None)
