"""Whatever JSON or bytes a client sends, the API answers 4xx (or 2xx), never 5xx: Hypothesis
sends arbitrary values in place of each field of a valid body, and arbitrary bodies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from apps.api.deps import memory_deps
from apps.api.main import create_app
from apps.api.settings import Settings
from tests.api.support import ADMIN, CAMPAIGN, TenantSession, make_campaign, make_tenant

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["+14155550100", "08:00", "25:99", "ratio:2", "Europe/London", ""]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@attrs.frozen
class World:
    client: TestClient[Any]
    tenant: TenantSession
    campaign: str


@pytest.fixture
def world(settings: Settings) -> Iterator[World]:
    unlimited = attrs.evolve(settings, rate_limit_per_s=1e6, rate_limit_burst=1_000_000)
    with TestClient(create_app(unlimited, memory_deps())) as client:
        tenant = make_tenant(client, "Acme")
        yield World(client, tenant, make_campaign(client, tenant))


def bodies_around(valid: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A valid body with one field replaced or added, or any JSON value at all."""
    changed = st.tuples(st.sampled_from([*valid, "extra"]), json_values).map(
        lambda change: valid | {change[0]: change[1]}
    )
    return changed | json_values


def assert_no_5xx(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["message"]


@FUZZ
@given(body=bodies_around(CAMPAIGN | {"window": {"start": "08:00"}, "pacing": {}, "retry": {}}))
def test_campaign_bodies(world: World, body: Any) -> None:
    headers = world.tenant.headers
    if isinstance(body, dict) and body.get("agent_id") == CAMPAIGN["agent_id"]:
        # The placeholder is not an agent of the tenant's: use its own, so valid bodies pass.
        body = body | {"agent_id": world.tenant.agent_id}
    assert_no_5xx(world.client.post("/v1/campaigns", json=body, headers=headers))
    path = f"/v1/campaigns/{world.campaign}"
    assert_no_5xx(world.client.patch(path, json=body, headers=headers))


@FUZZ
@given(
    body=bodies_around(
        {
            "name": "Reminders",
            "greeting": "Hello, an automated assistant here.",
            "prompts": {"bye": "Bye"},
            "provider_settings": {"model": "m"},
            "voicemail_policy": "hang_up",
            "version": 1,
        }
    )
)
def test_agent_bodies(world: World, body: Any) -> None:
    headers = world.tenant.headers
    # `version` is only for PATCH; a create body carrying it is a 400 like any unknown field.
    assert_no_5xx(world.client.post("/v1/agents", json=body, headers=headers))
    agent = {"name": "Reminders", "greeting": "Hello, an automated assistant here."}
    created = world.client.post("/v1/agents", json=agent, headers=headers)
    path = f"/v1/agents/{created.json()['id']}"
    assert_no_5xx(world.client.patch(path, json=body, headers=headers))


@FUZZ
@given(body=bodies_around({"name": "Acme", "weight": 1.0, "max_concurrency": 3}))
def test_tenant_and_key_bodies(world: World, body: Any) -> None:
    assert_no_5xx(world.client.post("/v1/tenants", json=body, headers=ADMIN))
    assert_no_5xx(world.client.patch(f"/v1/tenants/{world.tenant.id}", json=body, headers=ADMIN))
    path = f"/v1/tenants/{world.tenant.id}/api-keys"
    assert_no_5xx(world.client.post(path, json=body, headers=ADMIN))


@FUZZ
@given(body=bodies_around({"phones": ["+14155550100"]}), phone=st.text(max_size=20))
def test_dnc_bodies_and_paths(world: World, body: Any, phone: str) -> None:
    headers = world.tenant.headers
    assert_no_5xx(world.client.post("/v1/dnc", json=body, headers=headers))
    assert_no_5xx(world.client.post("/v1/dnc/check", json=body, headers=headers))
    assert_no_5xx(world.client.get("/v1/dnc/" + quote(phone, safe=""), headers=headers))


@FUZZ
@given(
    content_type=st.sampled_from(["text/csv", "application/json", "application/x-ndjson"]),
    body=st.binary(max_size=300)
    | json_values.map(lambda value: repr(value).encode())
    | st.lists(
        st.dictionaries(st.sampled_from(["phone", "timezone", "variables", "x"]), json_values)
    ).map(lambda rows: __import__("json").dumps(rows).encode()),
)
def test_import_bodies(world: World, content_type: str, body: bytes) -> None:
    response = world.client.post(
        f"/v1/campaigns/{world.campaign}/contacts/import",
        content=body,
        headers=world.tenant.headers | {"content-type": content_type},
    )
    assert response.status_code in (200, 400), response.text


@FUZZ
@given(params=st.dictionaries(st.sampled_from(["state", "after", "limit"]), st.text(max_size=8)))
def test_listing_parameters(world: World, params: dict[str, str]) -> None:
    path = f"/v1/campaigns/{world.campaign}/contacts"
    assert_no_5xx(world.client.get(path, params=params, headers=world.tenant.headers))
