"""`GET /v1/runtime-config/{agent_id}`: fleet workers' view of an agent, served from the cache
and invalidated by every change made through `/v1/agents`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import attrs
import pytest
from litestar.testing import TestClient

from apps.api.deps import Deps
from apps.api.main import create_app
from apps.api.settings import Settings
from tests.api.support import ADMIN, INTERNAL, TenantSession, assert_error, make_tenant
from voxcore_adapters.fakes.agents import InMemoryAgents
from voxcore_adapters.fakes.redis_fakes import ManualClock
from voxcore_domain.agents import Agent

AGENT = {
    "name": "Reminders",
    "greeting": "Hello, this is an automated assistant calling for Acme Dental.",
    "prompts": {"goodbye": "Thank you, goodbye."},
    "provider_settings": {"model": "speech-1", "temperature": 0.3, "vad": True},
}
TTL_S = 60.0


class CountingAgents(InMemoryAgents):
    """The fake store, counting its reads: a cache hit must not make one."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, agent_id: str) -> Agent | None:
        self.reads += 1
        return super().get(agent_id)


@attrs.frozen
class World:
    client: TestClient[Any]
    agents: CountingAgents
    tenant: TenantSession
    agent_id: str

    def config(self, agent_id: str | None = None) -> Any:
        return self.client.get(f"/v1/runtime-config/{agent_id or self.agent_id}", headers=INTERNAL)


@pytest.fixture
def world(settings: Settings, deps: Deps) -> Iterator[World]:
    agents = CountingAgents()
    app = create_app(
        attrs.evolve(settings, runtime_config_ttl_s=TTL_S), attrs.evolve(deps, agents=agents)
    )
    with TestClient(app) as client:
        tenant = make_tenant(client, "Acme")
        created = client.post("/v1/agents", json=AGENT, headers=tenant.headers)
        assert created.status_code == 201, created.text
        yield World(client, agents, tenant, created.json()["id"])


def test_the_config_is_the_agents_settings_with_its_version(world: World) -> None:
    response = world.config()
    assert response.status_code == 200, response.text
    assert response.json() == AGENT | {
        "agent_id": world.agent_id,
        "tenant_id": world.tenant.id,
        "version": 1,
        "language": "en-US",
        "voice": "default",
        "instructions": "",
        "provider": "scripted",
        "voicemail_policy": "hang_up",
        "voicemail_message": None,
    }


def test_a_cache_hit_does_not_read_the_store_until_the_ttl_ends(
    world: World, clock: ManualClock
) -> None:
    first = world.config().json()
    reads = world.agents.reads
    for _ in range(3):
        assert world.config().json() == first
    assert world.agents.reads == reads
    clock.advance(timedelta(seconds=TTL_S))
    assert world.config().json() == first
    assert world.agents.reads == reads + 1


def test_a_change_through_the_api_is_served_at_once(world: World) -> None:
    assert world.config().json()["version"] == 1
    path = f"/v1/agents/{world.agent_id}"
    changed = world.client.patch(path, json={"voice": "verse"}, headers=world.tenant.headers)
    assert changed.status_code == 200, changed.text
    config = world.config().json()
    assert (config["voice"], config["version"]) == ("verse", 2)


def test_a_refused_change_keeps_the_cached_config(world: World) -> None:
    cached = world.config().json()
    path = f"/v1/agents/{world.agent_id}"
    refused = world.client.patch(path, json={"greeting": " "}, headers=world.tenant.headers)
    assert_error(refused, 422, "greeting")
    reads = world.agents.reads
    assert world.config().json() == cached
    assert world.agents.reads == reads


def test_a_deleted_agent_is_gone_from_the_cache(world: World) -> None:
    assert world.config().status_code == 200
    path = f"/v1/agents/{world.agent_id}"
    assert world.client.delete(path, headers=world.tenant.headers).status_code == 204
    assert_error(world.config(), 404, "agent_id", "not_found")


def test_an_unknown_agent_is_a_404_and_is_not_cached(world: World) -> None:
    assert_error(world.config("no-such-agent"), 404, "agent_id", "not_found")
    reads = world.agents.reads
    assert_error(world.config("no-such-agent"), 404, "agent_id")
    assert world.agents.reads == reads + 1


def test_only_the_internal_token_reads_configs(world: World) -> None:
    path = f"/v1/runtime-config/{world.agent_id}"
    for headers in (world.tenant.headers, ADMIN):
        assert_error(world.client.get(path, headers=headers), 403, None, "forbidden")
    assert_error(world.client.get(path), 401, None, "unauthorized")


def test_a_cache_entry_in_another_shape_is_refilled_not_served(world: World, deps: Deps) -> None:
    # An entry an older release wrote, without `version`: replaced from the store.
    # (The fake cache is a plain dict, bound to no event loop: a loop of its own will do.)
    asyncio.run(deps.config_cache.put(world.agent_id, {"name": "old"}, timedelta(seconds=TTL_S)))
    assert world.config().json()["version"] == 1
