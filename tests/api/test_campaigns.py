"""`/v1/campaigns`: create, read, list, change, and the lifecycle."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from litestar.testing import TestClient

from apps.api.deps import Deps
from apps.api.main import create_app
from apps.api.settings import Settings
from tests.api.support import (
    AGENT,
    CAMPAIGN,
    TenantSession,
    assert_error,
    campaign_body,
    make_campaign,
)
from voxcore_domain.model import Campaign, CampaignState

# Without `agent_id` and `trunk_id`: each test adds its tenant's own (`campaign_body`).
FULL = {k: v for k, v in CAMPAIGN.items() if k not in ("agent_id", "trunk_id")} | {
    "window": {"start": "09:30", "end": "18:00", "weekdays": [1, 2, 3, 4, 5]},
    "timezone": "America/Chicago",
    "pacing": {"mode": "ratio:2.5", "abandon_target": 0.02, "ring_timeout_s": 20},
    "retry": {"max_attempts": 5, "busy_after_s": 600},
    "weight": 3.0,
    "max_concurrency": 25,
}


def test_a_campaign_is_created_in_draft_with_the_domains_defaults(
    client: TestClient[Any], acme: TenantSession
) -> None:
    created = client.post("/v1/campaigns", json=campaign_body(acme), headers=acme.headers)
    assert created.status_code == 201
    body = created.json()
    assert body == campaign_body(acme) | {
        "id": body["id"],
        "tenant_id": acme.id,
        "window": {"start": "08:00:00", "end": "21:00:00", "weekdays": [1, 2, 3, 4, 5, 6, 7]},
        "timezone": "UTC",
        "pacing": {"mode": "predictive", "abandon_target": 0.03, "ring_timeout_s": 25.0},
        "retry": {
            "max_attempts": 3,
            "no_answer_after_s": 14400.0,
            "busy_after_s": 1800.0,
            "failed_after_s": 900.0,
            "declined_after_s": 86400.0,
            "voicemail_after_s": 86400.0,
            "abandoned_after_s": 259200.0,
        },
        "weight": 1.0,
        "max_concurrency": None,
        "state": "draft",
        "abandon_message": None,
    }
    assert client.get(f"/v1/campaigns/{body['id']}", headers=acme.headers).json() == body


def test_every_setting_is_kept(client: TestClient[Any], acme: TenantSession) -> None:
    body = client.post(
        "/v1/campaigns", json=campaign_body(acme, **FULL), headers=acme.headers
    ).json()
    assert body["window"] == {"start": "09:30:00", "end": "18:00:00", "weekdays": [1, 2, 3, 4, 5]}
    assert body["timezone"] == "America/Chicago"
    assert body["pacing"] == {"mode": "ratio:2.5", "abandon_target": 0.02, "ring_timeout_s": 20.0}
    assert body["retry"]["max_attempts"] == 5
    assert body["retry"]["busy_after_s"] == 600.0
    assert body["retry"]["no_answer_after_s"] == 14400.0
    assert (body["weight"], body["max_concurrency"]) == (3.0, 25)


def test_a_tenant_lists_its_campaigns(client: TestClient[Any], acme: TenantSession) -> None:
    ids = sorted(make_campaign(client, acme, name=f"c{i}") for i in range(3))
    listed = client.get("/v1/campaigns", headers=acme.headers).json()
    assert [c["id"] for c in listed] == ids


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"name": None}, 400, "name"),
        ({"agent_id": ""}, 422, "agent_id"),
        ({"caller_id": "4155550100"}, 422, "caller_id"),
        ({"caller_id": 14155550100}, 400, "caller_id"),
        ({"timezone": "Mars/Olympus"}, 422, "timezone"),
        ({"weight": 0}, 422, "weight"),
        ({"max_concurrency": -2}, 422, "max_concurrency"),
        ({"window": {"start": "9am"}}, 422, "window.start"),
        ({"window": {"start": "09:00+01:00"}}, 422, "window.start"),
        ({"window": {"start": "18:00", "end": "09:00"}}, 422, "window.end"),
        ({"window": {"weekdays": [0, 8]}}, 422, "window.weekdays"),
        ({"window": {"weekdays": ["mon"]}}, 400, "window.weekdays[0]"),
        ({"window": {"open": "08:00"}}, 400, "window.open"),
        ({"pacing": {"mode": "turbo"}}, 422, "pacing.mode"),
        ({"pacing": {"mode": "ratio:x"}}, 422, "pacing.mode"),
        ({"pacing": {"abandon_target": 1.5}}, 422, "pacing.abandon_target"),
        ({"pacing": {"ring_timeout_s": 5}}, 422, "pacing.ring_timeout_s"),
        ({"retry": {"max_attempts": 0}}, 422, "retry.max_attempts"),
        ({"retry": {"abandoned_after_s": 3600}}, 422, "retry.abandoned_after_s"),
        ({"retry": {"busy_after_s": -1}}, 400, "retry.busy_after_s"),
        ({"retry": {"busy_after_s": 1e30}}, 400, "retry.busy_after_s"),
        ({"state": "running"}, 400, "state"),
    ],
)
def test_a_bad_campaign_is_refused_naming_the_field(
    client: TestClient[Any], acme: TenantSession, change: dict[str, Any], status: int, field: str
) -> None:
    response = client.post(
        "/v1/campaigns", json=campaign_body(acme, **change), headers=acme.headers
    )
    assert_error(response, status, field)
    assert client.get("/v1/campaigns", headers=acme.headers).json() == []


@pytest.mark.parametrize("missing", ["name", "agent_id", "trunk_id", "caller_id"])
def test_a_missing_field_is_named(
    client: TestClient[Any], acme: TenantSession, missing: str
) -> None:
    body = {k: v for k, v in CAMPAIGN.items() if k != missing}
    assert_error(client.post("/v1/campaigns", json=body, headers=acme.headers), 400, missing)


def test_a_patch_changes_only_what_it_names(client: TestClient[Any], acme: TenantSession) -> None:
    campaign_id = make_campaign(client, acme, **FULL)
    before = client.get(f"/v1/campaigns/{campaign_id}", headers=acme.headers).json()
    changed = client.patch(
        f"/v1/campaigns/{campaign_id}",
        json={"name": "July", "pacing": {"mode": "progressive"}, "max_concurrency": None},
        headers=acme.headers,
    )
    assert changed.status_code == 200
    # A nested object is replaced whole: the pacing's other settings go back to their defaults.
    assert changed.json() == before | {
        "name": "July",
        "pacing": {"mode": "progressive", "abandon_target": 0.03, "ring_timeout_s": 25.0},
        "max_concurrency": None,
    }
    assert client.get(f"/v1/campaigns/{campaign_id}", headers=acme.headers).json() == changed.json()


def test_a_bad_patch_changes_nothing(client: TestClient[Any], acme: TenantSession) -> None:
    campaign_id = make_campaign(client, acme)
    before = client.get(f"/v1/campaigns/{campaign_id}", headers=acme.headers).json()
    for body, status, field in [
        ({"name": "ok", "window": {"end": "07:00"}}, 422, "window.end"),
        ({"caller_id": "nope"}, 422, "caller_id"),
        ({"tenant_id": "someone-else"}, 400, "tenant_id"),
        ({"state": "completed"}, 400, "state"),
    ]:
        response = client.patch(f"/v1/campaigns/{campaign_id}", json=body, headers=acme.headers)
        assert_error(response, status, field)
    assert client.get(f"/v1/campaigns/{campaign_id}", headers=acme.headers).json() == before


def test_the_lifecycle_moves_and_refuses_with_the_reason(
    client: TestClient[Any], acme: TenantSession
) -> None:
    campaign_id = make_campaign(client, acme)

    def move(name: str) -> Any:
        return client.post(f"/v1/campaigns/{campaign_id}/{name}", headers=acme.headers)

    refused = move("pause")
    assert_error(refused, 409, "state", "invalid_transition")
    assert refused.json()["message"] == "campaign cannot go from 'draft' to 'paused'"
    assert move("start").json()["state"] == "running"
    assert move("pause").json()["state"] == "paused"
    assert_error(move("pause"), 409, "state")
    assert move("resume").json()["state"] == "running"
    assert move("complete").json()["state"] == "completed"
    for name in ("start", "pause", "resume", "complete"):
        assert_error(move(name), 409, "state")
    assert client.get(f"/v1/campaigns/{campaign_id}", headers=acme.headers).json()["state"] == (
        "completed"
    )


def test_an_unknown_campaign_is_404(client: TestClient[Any], acme: TenantSession) -> None:
    assert_error(client.get("/v1/campaigns/nope", headers=acme.headers), 404, "campaign_id")
    assert_error(client.post("/v1/campaigns/nope/start", headers=acme.headers), 404, "campaign_id")


def test_an_edit_racing_a_pause_keeps_the_pause(
    client: TestClient[Any], acme: TenantSession, settings: Settings, deps: Deps
) -> None:
    """The edit read the campaign while it ran; a pause landed before the edit was written."""
    campaign_id = make_campaign(client, acme)
    client.post(f"/v1/campaigns/{campaign_id}/start", headers=acme.headers)
    edits = deps.campaign_edits

    class PausedMeanwhile:
        def edit(self, campaign: Campaign) -> Campaign | None:
            deps.campaigns.set_state(campaign.id, CampaignState.PAUSED)
            return edits.edit(campaign)

    racing = attrs.evolve(deps, campaign_edits=PausedMeanwhile())
    with TestClient(create_app(settings, racing)) as other:
        edited = other.patch(
            f"/v1/campaigns/{campaign_id}", json={"name": "renamed"}, headers=acme.headers
        )
    assert (edited.json()["name"], edited.json()["state"]) == ("renamed", "paused")
    stored = client.get(f"/v1/campaigns/{campaign_id}", headers=acme.headers).json()
    assert (stored["name"], stored["state"]) == ("renamed", "paused")


def test_a_campaign_must_name_one_of_the_tenants_agents(
    client: TestClient[Any], acme: TenantSession, globex: TenantSession
) -> None:
    missing = client.post("/v1/campaigns", json=CAMPAIGN, headers=acme.headers)
    assert_error(missing, 422, "agent_id", "validation")
    # Globex's agent is refused exactly like a missing one.
    theirs = client.post("/v1/campaigns", json=campaign_body(globex), headers=acme.headers)
    assert_error(theirs, 422, "agent_id", "validation")
    assert theirs.json()["message"] == missing.json()["message"].replace(
        CAMPAIGN["agent_id"], globex.agent_id
    )
    assert client.get("/v1/campaigns", headers=acme.headers).json() == []


def test_a_patch_must_name_one_of_the_tenants_agents(
    client: TestClient[Any], acme: TenantSession, globex: TenantSession
) -> None:
    campaign_id = make_campaign(client, acme)
    path = f"/v1/campaigns/{campaign_id}"
    before = client.get(path, headers=acme.headers).json()
    for agent_id in ("no-such-agent", globex.agent_id):
        refused = client.patch(path, json={"agent_id": agent_id}, headers=acme.headers)
        assert_error(refused, 422, "agent_id", "validation")
    assert client.get(path, headers=acme.headers).json() == before
    other = client.post("/v1/agents", json=AGENT, headers=acme.headers).json()
    moved = client.patch(path, json={"agent_id": other["id"]}, headers=acme.headers)
    assert moved.json()["agent_id"] == other["id"]


def test_deleting_its_agent_does_not_block_other_edits_of_a_completed_campaign(
    client: TestClient[Any], acme: TenantSession
) -> None:
    campaign_id = make_campaign(client, acme)
    refused = client.delete(f"/v1/agents/{acme.agent_id}", headers=acme.headers)
    assert_error(refused, 409, "agent_id", "conflict")
    assert campaign_id in refused.json()["message"]
    assert client.get(f"/v1/agents/{acme.agent_id}", headers=acme.headers).status_code == 200
    path = f"/v1/campaigns/{campaign_id}"
    assert client.post(f"{path}/complete", headers=acme.headers).status_code == 200
    # A completed campaign never dials again: it no longer holds its agent.
    assert client.delete(f"/v1/agents/{acme.agent_id}", headers=acme.headers).status_code == 204
    renamed = client.patch(path, json={"name": "July"}, headers=acme.headers)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["agent_id"] == acme.agent_id


def test_the_abandon_message_is_set_changed_and_cleared(
    client: TestClient[Any], acme: TenantSession, deps: Deps
) -> None:
    said = "This was Acme Dental. Please call us back on 0800 123 456."
    campaign_id = make_campaign(client, acme, abandon_message=said)
    assert (
        client.get(f"/v1/campaigns/{campaign_id}", headers=acme.headers).json()["abandon_message"]
        == said
    )
    stored = deps.campaigns.get(campaign_id)
    assert stored is not None
    assert stored.abandon_message == said

    other = "Acme Dental here; we will call again."
    changed = client.patch(
        f"/v1/campaigns/{campaign_id}", json={"abandon_message": other}, headers=acme.headers
    )
    assert changed.json()["abandon_message"] == other
    untouched = client.patch(
        f"/v1/campaigns/{campaign_id}", json={"name": "July"}, headers=acme.headers
    )
    assert untouched.json()["abandon_message"] == other
    cleared = client.patch(
        f"/v1/campaigns/{campaign_id}", json={"abandon_message": None}, headers=acme.headers
    )
    assert cleared.json()["abandon_message"] is None


@pytest.mark.parametrize("message", ["", "   ", "x" * 201, 42])
def test_a_bad_abandon_message_is_refused_naming_the_field(
    client: TestClient[Any], acme: TenantSession, message: object
) -> None:
    response = client.post(
        "/v1/campaigns", json=campaign_body(acme, abandon_message=message), headers=acme.headers
    )
    assert_error(response, 400, "abandon_message")
    campaign_id = make_campaign(client, acme)
    patched = client.patch(
        f"/v1/campaigns/{campaign_id}", json={"abandon_message": message}, headers=acme.headers
    )
    assert_error(patched, 400, "abandon_message")
