"""Tenant A can neither read nor change tenant B's objects, even holding B's ids: each attempt is
a 404 exactly like an id that does not exist, and B's objects stay as they were."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from tests.api.support import TenantSession, assert_error, make_campaign


def test_one_tenant_cannot_reach_anothers_objects(
    client: TestClient[Any], acme: TenantSession, globex: TenantSession
) -> None:
    theirs = make_campaign(client, globex, name="Globex's")
    imported = client.post(
        f"/v1/campaigns/{theirs}/contacts/import",
        content=b"phone\n+14155550101\n",
        headers=globex.headers | {"content-type": "text/csv"},
    )
    assert imported.json()["inserted"] == 1
    assert client.post("/v1/dnc", json={"phones": ["+14155550199"]}, headers=globex.headers)
    before = client.get(f"/v1/campaigns/{theirs}", headers=globex.headers).json()

    def refused(method: str, path: str, **kwargs: Any) -> None:
        kwargs.setdefault("headers", acme.headers)
        mine = client.request(method, path, **kwargs)
        missing = client.request(method, path.replace(theirs, "no-such-id"), **kwargs)
        assert_error(mine, 404, "campaign_id", "not_found")
        # Word for word what a missing id gets, but for the id itself.
        assert mine.json()["message"] == missing.json()["message"].replace("no-such-id", theirs)

    refused("GET", f"/v1/campaigns/{theirs}")
    refused("PATCH", f"/v1/campaigns/{theirs}", json={"name": "mine now"})
    for move in ("start", "pause", "resume", "complete"):
        refused("POST", f"/v1/campaigns/{theirs}/{move}")
    refused("GET", f"/v1/campaigns/{theirs}/contacts")
    refused("GET", f"/v1/campaigns/{theirs}/contacts/counts")
    refused(
        "POST",
        f"/v1/campaigns/{theirs}/contacts/import",
        content=b"phone\n+14155550102\n",
        headers=acme.headers | {"content-type": "text/csv"},
    )
    assert client.get("/v1/campaigns", headers=acme.headers).json() == []

    # Keys and the tenant record are scoped the same way.
    assert_error(client.get(f"/v1/tenants/{globex.id}", headers=acme.headers), 404, "tenant_id")
    for method, path in [
        ("GET", f"/v1/tenants/{globex.id}/api-keys"),
        ("POST", f"/v1/tenants/{globex.id}/api-keys"),
        ("DELETE", f"/v1/tenants/{globex.id}/api-keys/{globex.key_id}"),
    ]:
        response = client.request(method, path, headers=acme.headers, json={"name": "k"})
        assert_error(response, 404, "tenant_id")
    # Acme's key id cannot revoke Globex's key through Acme's own tenant either.
    response = client.delete(
        f"/v1/tenants/{acme.id}/api-keys/{globex.key_id}", headers=acme.headers
    )
    assert_error(response, 404, "key_id")

    # The DNC list is per tenant: Globex's number is not on Acme's list, and Acme cannot remove it.
    assert client.get("/v1/dnc/+14155550199", headers=acme.headers).json()["blocked"] is False
    assert_error(client.delete("/v1/dnc/+14155550199", headers=acme.headers), 404, "phone")

    # Globex sees everything as it was.
    assert client.get(f"/v1/campaigns/{theirs}", headers=globex.headers).json() == before
    assert client.get("/v1/dnc/+14155550199", headers=globex.headers).json()["blocked"] is True
    counts = client.get(f"/v1/campaigns/{theirs}/contacts/counts", headers=globex.headers).json()
    assert counts["total"] == 1
    assert client.get("/v1/campaigns", headers=globex.headers).status_code == 200
