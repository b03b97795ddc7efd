"""`/v1/fleet-hosts`: the admin keeps the list, the fleet and the dialler read it."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from tests.api.support import ADMIN, INTERNAL, TenantSession, assert_error

HOST = {"id": "host-1", "url": "http://10.0.0.5:8000"}


def test_the_admin_adds_changes_and_removes_fleet_hosts(client: TestClient[Any]) -> None:
    created = client.post("/v1/fleet-hosts", json=HOST, headers=ADMIN)
    assert created.status_code == 201, created.text
    assert created.json() == HOST | {"enabled": True}
    again = client.post("/v1/fleet-hosts", json=HOST, headers=ADMIN)
    assert_error(again, 409, "id", "conflict")
    client.post("/v1/fleet-hosts", json={"id": "host-0", "url": "unix:/run/x.sock"}, headers=ADMIN)
    for headers in (ADMIN, INTERNAL):
        listed = client.get("/v1/fleet-hosts", headers=headers).json()
        assert [h["id"] for h in listed] == ["host-0", "host-1"]
    changed = client.patch("/v1/fleet-hosts/host-1", json={"enabled": False}, headers=ADMIN)
    assert changed.json() == HOST | {"enabled": False}
    assert client.get("/v1/fleet-hosts/host-1", headers=INTERNAL).json() == changed.json()
    assert client.delete("/v1/fleet-hosts/host-1", headers=ADMIN).status_code == 204
    assert_error(client.get("/v1/fleet-hosts/host-1", headers=ADMIN), 404, "host_id")
    assert_error(client.delete("/v1/fleet-hosts/host-1", headers=ADMIN), 404, "host_id")
    assert_error(client.patch("/v1/fleet-hosts/h9", json={}, headers=ADMIN), 404, "host_id")


def test_a_bad_url_is_refused_naming_it(client: TestClient[Any]) -> None:
    bad = client.post("/v1/fleet-hosts", json=HOST | {"url": "ftp://x"}, headers=ADMIN)
    assert_error(bad, 422, "url", "validation")
    assert_error(client.post("/v1/fleet-hosts", json={"id": "h"}, headers=ADMIN), 400, "url")
    slashed = client.post("/v1/fleet-hosts", json=HOST | {"id": "a/b"}, headers=ADMIN)
    assert_error(slashed, 400, "id", "bad_request")
    client.post("/v1/fleet-hosts", json=HOST, headers=ADMIN)
    patched = client.patch("/v1/fleet-hosts/host-1", json={"url": "nope"}, headers=ADMIN)
    assert_error(patched, 422, "url")
    assert client.get("/v1/fleet-hosts/host-1", headers=ADMIN).json()["url"] == HOST["url"]


def test_only_the_admin_writes_and_tenants_never_see_the_fleet(
    client: TestClient[Any], acme: TenantSession
) -> None:
    for headers in (INTERNAL, acme.headers):
        assert_error(client.post("/v1/fleet-hosts", json=HOST, headers=headers), 403, None)
    client.post("/v1/fleet-hosts", json=HOST, headers=ADMIN)
    for method, path in [
        ("PATCH", "/v1/fleet-hosts/host-1"),
        ("DELETE", "/v1/fleet-hosts/host-1"),
    ]:
        answer = client.request(method, path, headers=INTERNAL, json={"enabled": False})
        assert_error(answer, 403, None, "forbidden")
    assert_error(client.get("/v1/fleet-hosts", headers=acme.headers), 403, None)
    assert client.get("/v1/fleet-hosts/host-1", headers=ADMIN).json()["enabled"] is True
