"""`/v1/inbound-numbers`, and what a LiveKit webhook that cannot be trusted or is not an inbound
call does: nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from apps.api.deps import Deps
from apps.api.main import create_app
from apps.api.settings import Settings
from tests.api.support import ADMIN, AGENT, TenantSession, assert_error
from tests.api.webhooks import CALLED, LIVEKIT_KEY, LIVEKIT_SECRET, caller_joined, signed

WEBHOOK = "/v1/livekit/webhook"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return attrs.evolve(settings, livekit_api_key=LIVEKIT_KEY, livekit_api_secret=LIVEKIT_SECRET)


def route(client: TestClient[Any], tenant: TenantSession, number: str = CALLED) -> dict[str, Any]:
    created = client.post(
        "/v1/inbound-numbers",
        json={"number": number, "agent_id": tenant.agent_id},
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


def test_a_number_is_routed_to_an_agent_changed_and_removed(
    client: TestClient[Any], acme: TenantSession
) -> None:
    entry = route(client, acme)
    assert entry == {
        "id": entry["id"],
        "tenant_id": acme.id,
        "number": CALLED,
        "agent_id": acme.agent_id,
        "enabled": True,
    }
    path = f"/v1/inbound-numbers/{entry['id']}"
    assert client.get("/v1/inbound-numbers", headers=acme.headers).json() == [entry]
    other = client.post("/v1/agents", json=AGENT, headers=acme.headers).json()
    changed = client.patch(
        path, json={"agent_id": other["id"], "enabled": False}, headers=acme.headers
    )
    assert changed.json() == entry | {"agent_id": other["id"], "enabled": False}
    assert client.get(path, headers=acme.headers).json() == changed.json()
    assert client.delete(path, headers=acme.headers).status_code == 204
    assert_error(client.get(path, headers=acme.headers), 404, "number_id")


def test_bad_entries_are_refused_naming_the_field(
    client: TestClient[Any], acme: TenantSession, globex: TenantSession
) -> None:
    def refused(body: dict[str, Any], status: int, field: str) -> None:
        answer = client.post("/v1/inbound-numbers", json=body, headers=acme.headers)
        assert_error(answer, status, field)

    refused({"number": "555", "agent_id": acme.agent_id}, 422, "number")
    refused({"number": CALLED, "agent_id": globex.agent_id}, 422, "agent_id")
    refused({"number": CALLED}, 400, "agent_id")
    route(client, globex)
    # A number has one owner, whoever holds it.
    refused({"number": CALLED, "agent_id": acme.agent_id}, 409, "number")
    assert client.get("/v1/inbound-numbers", headers=acme.headers).json() == []


def test_another_tenants_entry_is_a_404(
    client: TestClient[Any], acme: TenantSession, globex: TenantSession
) -> None:
    theirs = route(client, globex)
    path = f"/v1/inbound-numbers/{theirs['id']}"
    for method, body in [("GET", None), ("PATCH", {"enabled": False}), ("DELETE", None)]:
        answer = client.request(method, path, headers=acme.headers, json=body)
        assert_error(answer, 404, "number_id", "not_found")
    assert client.get(path, headers=globex.headers).json() == theirs
    as_acme = ADMIN | {"X-Vox-Tenant": acme.id}
    assert_error(client.get(path, headers=as_acme), 404, "number_id")
    as_globex = ADMIN | {"X-Vox-Tenant": globex.id}
    assert client.get(path, headers=as_globex).json() == theirs


def test_an_agent_that_answers_a_number_cannot_be_deleted(
    client: TestClient[Any], acme: TenantSession
) -> None:
    entry = route(client, acme)
    refused = client.delete(f"/v1/agents/{acme.agent_id}", headers=acme.headers)
    assert_error(refused, 409, "agent_id", "conflict")
    assert CALLED in refused.json()["message"]
    client.delete(f"/v1/inbound-numbers/{entry['id']}", headers=acme.headers)
    assert client.delete(f"/v1/agents/{acme.agent_id}", headers=acme.headers).status_code == 204


def untrusted(tampering: str) -> tuple[bytes, dict[str, str]]:
    """`caller_joined()` delivered with one thing wrong."""
    event = caller_joined()
    if tampering == "wrong secret":
        return signed(event, secret="x" * 48)
    if tampering == "another key":
        return signed(event, key="APIother")
    if tampering == "expired":
        return signed(event, ttl=timedelta(minutes=-10))
    if tampering == "body changed":
        return signed(event, body=signed(caller_joined(called="+14155550171"))[0].decode())
    body, _ = signed(event)
    return body, {} if tampering == "no header" else {"Authorization": "Bearer abc"}


@pytest.mark.parametrize(
    "tampering",
    ["wrong secret", "another key", "expired", "body changed", "no header", "not a jwt"],
)
def test_an_untrusted_webhook_is_a_401_and_changes_nothing(
    client: TestClient[Any], acme: TenantSession, deps: Deps, tampering: str
) -> None:
    route(client, acme)
    event = caller_joined()
    body, headers = untrusted(tampering)
    answer = client.post(WEBHOOK, content=body, headers=headers)
    assert_error(answer, 401, None, "unauthorized")
    # Nothing was claimed: the genuine delivery of that event is still acted on.
    assert deps.call_log.get("in-SCL_in1") is None
    genuine = client.post(WEBHOOK, content=signed(event)[0], headers=signed(event)[1])
    # No fleet host is configured here, so the genuine one is unplaced (and retryable).
    assert_error(genuine, 503, None, "unavailable")


def test_events_that_are_not_inbound_calls_are_ignored(
    client: TestClient[Any], acme: TenantSession
) -> None:
    entry = route(client, acme)
    for event in [
        caller_joined(called="+14155550171"),
        # A leg the dialler placed carries its call id.
        caller_joined(**{"vox.call_id": "call-1"}),
        caller_joined(**{"sip.callStatus": "hangup"}),
    ]:
        body, headers = signed(event)
        answer = client.post(WEBHOOK, content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"outcome": "ignored"}
    left = caller_joined()
    left.event = "participant_left"
    assert client.post(WEBHOOK, content=signed(left)[0], headers=signed(left)[1]).json() == {
        "outcome": "ignored"
    }
    client.patch(
        f"/v1/inbound-numbers/{entry['id']}", json={"enabled": False}, headers=acme.headers
    )
    body, headers = signed(caller_joined())
    assert client.post(WEBHOOK, content=body, headers=headers).json() == {"outcome": "ignored"}


def test_webhooks_are_refused_when_livekit_is_not_configured(
    settings: Settings, deps: Deps
) -> None:
    bare = attrs.evolve(settings, livekit_api_key=None, livekit_api_secret=None)
    app: Litestar = create_app(bare, deps)
    with TestClient(app) as client:
        body, headers = signed(caller_joined())
        assert_error(client.post(WEBHOOK, content=body, headers=headers), 401, None)
