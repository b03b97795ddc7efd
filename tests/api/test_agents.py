"""`/v1/agents`: create, read, list, change (a compare-and-set on `version`) and delete."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from litestar.testing import TestClient

from apps.api.deps import Deps
from apps.api.main import create_app
from apps.api.settings import Settings
from tests.api.support import ADMIN, AGENT, INTERNAL, TenantSession, assert_error, make_tenant
from voxcore_adapters.fakes.agents import InMemoryAgents
from voxcore_domain.agents import Agent

FULL = AGENT | {
    "language": "en-GB",
    "voice": "alloy",
    "instructions": "Confirm the appointment; offer to reschedule.",
    "prompts": {"goodbye": "Thank you, goodbye."},
    "provider": "realtime",
    "provider_settings": {"model": "speech-1", "temperature": 0.3, "max_turns": 12, "vad": True},
    "voicemail_policy": "leave_message",
    "voicemail_message": "Please call Acme Dental back.",
}


def make_agent(client: TestClient[Any], tenant: TenantSession, **fields: Any) -> dict[str, Any]:
    created = client.post("/v1/agents", json=AGENT | fields, headers=tenant.headers)
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


def test_an_agent_is_created_at_version_1_with_the_domains_defaults(
    client: TestClient[Any], acme: TenantSession
) -> None:
    body = make_agent(client, acme)
    assert body == AGENT | {
        "id": body["id"],
        "tenant_id": acme.id,
        "language": "en-US",
        "voice": "default",
        "instructions": "",
        "prompts": {},
        "provider": "scripted",
        "provider_settings": {},
        "voicemail_policy": "hang_up",
        "voicemail_message": None,
        "version": 1,
    }
    assert client.get(f"/v1/agents/{body['id']}", headers=acme.headers).json() == body


def test_every_setting_is_kept_and_the_list_is_the_tenants(
    client: TestClient[Any], acme: TenantSession, globex: TenantSession
) -> None:
    full = make_agent(client, acme, **FULL)
    assert {k: full[k] for k in FULL} == FULL
    other = make_agent(client, acme, name="Surveys")
    make_agent(client, globex)
    listed = client.get("/v1/agents", headers=acme.headers).json()
    # `make_tenant` gave Acme an agent of its own first.
    assert sorted(a["id"] for a in listed) == sorted([acme.agent_id, full["id"], other["id"]])
    assert all(a["tenant_id"] == acme.id for a in listed)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (AGENT | {"greeting": " "}, 422, "greeting"),
        (AGENT | {"voicemail_policy": "leave_message"}, 422, "voicemail_message"),
        (AGENT | {"voicemail_policy": "sing"}, 400, "voicemail_policy"),
        (AGENT | {"provider_settings": {"model": ["a"]}}, 400, "provider_settings"),
        (AGENT | {"prompts": {"goodbye": 3}}, 400, "prompts"),
        (AGENT | {"temperature": 0.3}, 400, "temperature"),
        ({"greeting": "Hello"}, 400, "name"),
        (AGENT | {"greeting": "x" * 2001}, 400, "greeting"),
    ],
)
def test_bad_agents_are_refused_naming_the_field(
    client: TestClient[Any], acme: TenantSession, body: dict[str, Any], status: int, field: str
) -> None:
    response = client.post("/v1/agents", json=body, headers=acme.headers)
    assert response.status_code == status, response.text
    assert response.json()["field"].startswith(field), response.json()
    assert [a["id"] for a in client.get("/v1/agents", headers=acme.headers).json()] == [
        acme.agent_id
    ]


def test_a_change_bumps_the_version_and_keeps_the_rest(
    client: TestClient[Any], acme: TenantSession
) -> None:
    created = make_agent(client, acme, **FULL)
    path = f"/v1/agents/{created['id']}"
    changed = client.patch(path, json={"voice": "verse", "prompts": {}}, headers=acme.headers)
    assert changed.status_code == 200, changed.text
    assert changed.json() == created | {"voice": "verse", "prompts": {}, "version": 2}
    assert client.get(path, headers=acme.headers).json() == changed.json()
    # Clearing the message the policy needs is refused and stores nothing.
    refused = client.patch(path, json={"voicemail_message": None}, headers=acme.headers)
    assert_error(refused, 422, "voicemail_message", "validation")
    assert client.get(path, headers=acme.headers).json()["version"] == 2


def test_an_edit_of_an_older_version_is_a_409(client: TestClient[Any], acme: TenantSession) -> None:
    path = f"/v1/agents/{make_agent(client, acme)['id']}"
    assert client.patch(path, json={"version": 1, "name": "A"}, headers=acme.headers).is_success
    # This client also read version 1: its edit would undo the one above without a word.
    stale = client.patch(path, json={"version": 1, "name": "B"}, headers=acme.headers)
    assert_error(stale, 409, "version", "conflict")
    current = client.get(path, headers=acme.headers).json()
    assert (current["name"], current["version"]) == ("A", 2)


class RacingAgents(InMemoryAgents):
    """Agents where another writer stores an edit between each read and compare-and-set."""

    def replace(self, agent: Agent, expected_version: int) -> bool:
        stored = self.get(agent.id)
        assert stored is not None
        rival = attrs.evolve(stored, name="Rival", version=stored.version + 1)
        assert super().replace(rival, expected_version=stored.version)
        return super().replace(agent, expected_version)


def test_an_edit_that_loses_the_race_in_the_store_is_a_409_and_the_winner_stays(
    settings: Settings, deps: Deps
) -> None:
    agents = RacingAgents()
    with TestClient(create_app(settings, attrs.evolve(deps, agents=agents))) as client:
        acme = make_tenant(client, "Acme")
        path = f"/v1/agents/{make_agent(client, acme)['id']}"
        lost = client.patch(path, json={"name": "Mine"}, headers=acme.headers)
        assert_error(lost, 409, "version", "conflict")
        current = client.get(path, headers=acme.headers).json()
        assert (current["name"], current["version"]) == ("Rival", 2)


def test_delete_removes_the_agent(client: TestClient[Any], acme: TenantSession) -> None:
    path = f"/v1/agents/{make_agent(client, acme)['id']}"
    assert client.delete(path, headers=acme.headers).status_code == 204
    assert_error(client.get(path, headers=acme.headers), 404, "agent_id", "not_found")
    assert_error(client.delete(path, headers=acme.headers), 404, "agent_id")
    assert_error(client.patch(path, json={"name": "x"}, headers=acme.headers), 404, "agent_id")
    assert [a["id"] for a in client.get("/v1/agents", headers=acme.headers).json()] == [
        acme.agent_id
    ]


def test_another_tenants_agent_is_a_404_like_a_missing_one(
    client: TestClient[Any], acme: TenantSession, globex: TenantSession
) -> None:
    theirs = make_agent(client, globex)
    for method, body in [("GET", None), ("PATCH", {"name": "mine"}), ("DELETE", None)]:
        mine = client.request(method, f"/v1/agents/{theirs['id']}", headers=acme.headers, json=body)
        missing = client.request(method, "/v1/agents/no-such-id", headers=acme.headers, json=body)
        assert_error(mine, 404, "agent_id", "not_found")
        assert mine.json()["message"] == missing.json()["message"].replace(
            "no-such-id", theirs["id"]
        )
    assert client.get(f"/v1/agents/{theirs['id']}", headers=globex.headers).json() == theirs


def test_only_tenant_keys_and_the_admin_for_a_tenant_reach_agents(
    client: TestClient[Any],
) -> None:
    assert_error(client.get("/v1/agents", headers=INTERNAL), 403, None, "forbidden")
    assert_error(client.post("/v1/agents", json=AGENT, headers=INTERNAL), 403, None)
    # The admin key names the tenant it acts for.
    assert_error(client.get("/v1/agents", headers=ADMIN), 400, "X-Vox-Tenant", "bad_request")
    assert_error(client.post("/v1/agents", json=AGENT, headers=ADMIN), 400, "X-Vox-Tenant")
    assert_error(client.get("/v1/agents"), 401, None, "unauthorized")
