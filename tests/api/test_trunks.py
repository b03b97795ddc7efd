"""`/v1/trunks`: a tenant's SIP trunks, and the checks a campaign's trunk and caller id pass."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from tests.api.support import (
    ADMIN,
    INTERNAL,
    TRUNK,
    TenantSession,
    assert_error,
    campaign_body,
    make_campaign,
)


def test_a_trunk_is_created_read_listed_and_changed(
    client: TestClient[Any], acme: TenantSession
) -> None:
    created = client.post(
        "/v1/trunks", json=TRUNK | {"cps": 5, "channels": 30}, headers=acme.headers
    )
    assert created.status_code == 201, created.text
    trunk = created.json()
    assert trunk == TRUNK | {
        "id": trunk["id"],
        "tenant_id": acme.id,
        "cps": 5.0,
        "channels": 30,
        "enabled": True,
    }
    path = f"/v1/trunks/{trunk['id']}"
    assert client.get(path, headers=acme.headers).json() == trunk
    listed = client.get("/v1/trunks", headers=acme.headers).json()
    assert sorted(t["id"] for t in listed) == sorted([acme.trunk_id, trunk["id"]])
    changed = client.patch(path, json={"channels": None, "cps": 2.5}, headers=acme.headers)
    assert changed.json() == trunk | {"channels": None, "cps": 2.5}
    assert client.get(path, headers=acme.headers).json() == changed.json()


def test_bad_trunks_are_refused_naming_the_field(
    client: TestClient[Any], acme: TenantSession
) -> None:
    for body, status, field in [
        (TRUNK | {"caller_ids": ["555"]}, 422, "caller_ids"),
        (TRUNK | {"cps": 0}, 422, "cps"),
        (TRUNK | {"channels": 0}, 422, "channels"),
        (TRUNK | {"name": ""}, 422, "name"),
        ({"name": "x"}, 400, "livekit_trunk_id"),
        (TRUNK | {"colour": "red"}, 400, "colour"),
    ]:
        assert_error(client.post("/v1/trunks", json=body, headers=acme.headers), status, field)
    path = f"/v1/trunks/{acme.trunk_id}"
    before = client.get(path, headers=acme.headers).json()
    assert_error(client.patch(path, json={"cps": -1}, headers=acme.headers), 422, "cps")
    assert client.get(path, headers=acme.headers).json() == before


def test_another_tenants_trunk_is_a_404_and_stays_as_it_was(
    client: TestClient[Any], acme: TenantSession, globex: TenantSession
) -> None:
    theirs = f"/v1/trunks/{globex.trunk_id}"
    before = client.get(theirs, headers=globex.headers).json()
    for method, body in [("GET", None), ("PATCH", {"name": "mine"}), ("DELETE", None)]:
        answer = client.request(method, theirs, headers=acme.headers, json=body)
        missing = client.request(method, "/v1/trunks/nope", headers=acme.headers, json=body)
        assert_error(answer, 404, "trunk_id", "not_found")
        assert answer.json()["message"] == missing.json()["message"].replace(
            "nope", globex.trunk_id
        )
    assert [t["id"] for t in client.get("/v1/trunks", headers=acme.headers).json()] == [
        acme.trunk_id
    ]
    assert client.get(theirs, headers=globex.headers).json() == before
    assert_error(client.get("/v1/trunks", headers=INTERNAL), 403, None, "forbidden")


def test_a_campaigns_trunk_must_be_the_tenants_enabled_and_allow_its_caller_id(
    client: TestClient[Any], acme: TenantSession, globex: TenantSession
) -> None:
    def refused(body: dict[str, Any], field: str) -> None:
        answer = client.post("/v1/campaigns", json=body, headers=acme.headers)
        assert_error(answer, 422, field, "validation")

    refused(campaign_body(acme, trunk_id="no-such-trunk"), "trunk_id")
    refused(campaign_body(acme, trunk_id=globex.trunk_id), "trunk_id")
    refused(campaign_body(acme, caller_id="+14155550199"), "caller_id")
    disabled = client.post("/v1/trunks", json=TRUNK | {"enabled": False}, headers=acme.headers)
    refused(campaign_body(acme, trunk_id=disabled.json()["id"]), "trunk_id")
    assert client.get("/v1/campaigns", headers=acme.headers).json() == []

    campaign_id = make_campaign(client, acme)
    path = f"/v1/campaigns/{campaign_id}"
    before = client.get(path, headers=acme.headers).json()
    for patch, field in [
        ({"trunk_id": globex.trunk_id}, "trunk_id"),
        ({"trunk_id": disabled.json()["id"]}, "trunk_id"),
        ({"caller_id": "+14155550199"}, "caller_id"),
    ]:
        assert_error(client.patch(path, json=patch, headers=acme.headers), 422, field)
    assert client.get(path, headers=acme.headers).json() == before
    # Any caller id goes on a trunk that lists none.
    open_trunk = client.post(
        "/v1/trunks", json=TRUNK | {"caller_ids": []}, headers=acme.headers
    ).json()
    moved = client.patch(
        path, json={"trunk_id": open_trunk["id"], "caller_id": "+14155550199"}, headers=acme.headers
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["trunk_id"], moved.json()["caller_id"]) == (
        open_trunk["id"],
        "+14155550199",
    )


def test_a_trunk_a_campaign_uses_cannot_be_deleted(
    client: TestClient[Any], acme: TenantSession
) -> None:
    campaign_id = make_campaign(client, acme)
    path = f"/v1/trunks/{acme.trunk_id}"
    refused = client.delete(path, headers=acme.headers)
    assert_error(refused, 409, "trunk_id", "conflict")
    assert campaign_id in refused.json()["message"]
    assert client.get(path, headers=acme.headers).status_code == 200
    client.post(f"/v1/campaigns/{campaign_id}/complete", headers=acme.headers)
    assert client.delete(path, headers=acme.headers).status_code == 204
    assert_error(client.get(path, headers=acme.headers), 404, "trunk_id")
    assert_error(client.delete(path, headers=acme.headers), 404, "trunk_id")


def test_the_admin_manages_a_tenants_trunks_naming_it_in_x_vox_tenant(
    client: TestClient[Any], acme: TenantSession, globex: TenantSession
) -> None:
    assert_error(client.get("/v1/trunks", headers=ADMIN), 400, "X-Vox-Tenant", "bad_request")
    as_acme = ADMIN | {"X-Vox-Tenant": acme.id}
    created = client.post("/v1/trunks", json=TRUNK, headers=as_acme)
    assert created.status_code == 201
    assert created.json()["tenant_id"] == acme.id
    ids = {t["id"] for t in client.get("/v1/trunks", headers=acme.headers).json()}
    assert ids == {acme.trunk_id, created.json()["id"]}
    # Acting for Acme, Globex's objects are as missing as for Acme's own key.
    assert_error(client.get(f"/v1/trunks/{globex.trunk_id}", headers=as_acme), 404, "trunk_id")
    campaign = client.post("/v1/campaigns", json=campaign_body(acme), headers=as_acme)
    assert campaign.json()["tenant_id"] == acme.id
    unknown = client.get("/v1/trunks", headers=ADMIN | {"X-Vox-Tenant": "no-such-tenant"})
    assert_error(unknown, 404, "X-Vox-Tenant", "not_found")
    # A tenant's key may name only its own tenant; the internal token none.
    assert client.get("/v1/trunks", headers=acme.headers | {"X-Vox-Tenant": acme.id}).is_success
    other = client.get("/v1/trunks", headers=acme.headers | {"X-Vox-Tenant": globex.id})
    assert_error(other, 403, None, "forbidden")
    internal = client.get("/v1/fleet-hosts", headers=INTERNAL | {"X-Vox-Tenant": acme.id})
    assert_error(internal, 403, None, "forbidden")
