"""Tenants, agents, trunks, campaigns and contacts made through the public API, as an operator
and a tenant make them: the demo's seeding, the drills' campaigns and the API tests' tenants.

Each call is checked for the status the API documents for it; `ProvisionError` names what was
being made and what the API answered instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import httpx


class ProvisionError(RuntimeError):
    """The API refused to make something (or answered in an unexpected shape)."""


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def answer(response: httpx.Response, doing: str, status: int) -> dict[str, Any]:
    """The JSON object `response` carries when it has `status`; `ProvisionError` otherwise."""
    if response.status_code != status:
        raise ProvisionError(f"{doing}: {response.status_code} {response.text[:500]}")
    body = response.json()
    if not isinstance(body, dict):
        raise ProvisionError(f"{doing}: unexpected answer {body!r}")
    return body


@attrs.frozen
class Tenant:
    """A tenant made through the API, with an API key and an agent of its own."""

    id: str
    key_id: str
    token: str = attrs.field(repr=False)
    """The tenant's API key: a secret made for this run, never written to a log."""
    agent_id: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


def tenant(
    http: httpx.Client, admin_key: str, name: str, *, key_name: str, agent: Mapping[str, object]
) -> Tenant:
    """A new tenant, an API key named `key_name` for it (by the admin, as an operator makes
    them) and the agent `agent` (by the tenant)."""
    admin = bearer(admin_key)
    made = answer(http.post("/v1/tenants", json={"name": name}, headers=admin), "tenant", 201)
    tenant_id = str(made["id"])
    issued = answer(
        http.post(f"/v1/tenants/{tenant_id}/api-keys", json={"name": key_name}, headers=admin),
        "API key",
        201,
    )
    token = str(issued["token"])
    made_agent = answer(
        http.post("/v1/agents", json=dict(agent), headers=bearer(token)), "agent", 201
    )
    return Tenant(tenant_id, str(issued["key"]["id"]), token, str(made_agent["id"]))


def trunk(http: httpx.Client, owner: Mapping[str, str], body: Mapping[str, object]) -> str:
    """A trunk of the tenant whose headers are `owner`; its id."""
    made = answer(http.post("/v1/trunks", json=dict(body), headers=owner), "trunk", 201)
    return str(made["id"])


def campaign(http: httpx.Client, owner: Mapping[str, str], body: Mapping[str, object]) -> str:
    """A campaign of the tenant whose headers are `owner`; its id."""
    made = answer(
        http.post("/v1/campaigns", json=dict(body), headers=owner), f"campaign {body['name']}", 201
    )
    return str(made["id"])


def import_contacts(
    http: httpx.Client,
    owner: Mapping[str, str],
    campaign_id: str,
    rows: Sequence[Mapping[str, object]],
    doing: str,
) -> int:
    """Import `rows` (JSON contacts) into the campaign; how many it inserted. Any row refused
    is a `ProvisionError` with the API's reasons."""
    report = answer(
        http.post(
            f"/v1/campaigns/{campaign_id}/contacts/import",
            json=[dict(row) for row in rows],
            headers=owner,
        ),
        doing,
        200,
    )
    if report.get("rejected"):
        raise ProvisionError(f"{doing} refused: {report.get('errors')}")
    return int(report["inserted"])


def command(
    http: httpx.Client, owner: Mapping[str, str], campaign_id: str, verb: str, doing: str
) -> None:
    """`verb` (`start`, `pause`, …) the campaign."""
    answer(http.post(f"/v1/campaigns/{campaign_id}/{verb}", headers=owner), doing, 200)
