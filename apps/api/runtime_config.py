"""`GET /v1/runtime-config/{agent_id}`: what a fleet worker runs a call with, for the internal
token only.

Served from the `RuntimeConfigCache` (Redis, with a near copy in each API process kept in step
over Redis pub/sub) with the settings' TTL, filled from the agent store on a miss. `/v1/agents`
invalidates the entry after every stored change or delete, so a worker sees an edit on its next
read (through another API process: once the announcement lands, within moments); the TTL only
bounds how long an entry can outlive an invalidation that was missed (Redis unreachable at that
moment) or raced by a fill that read the store just before the change. `version` lets a worker
tell which config it holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import anyio.to_thread
import attrs
import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency

from apps.api.agents import agent_settings
from apps.api.auth import allow
from apps.api.caller import Role
from apps.api.deps import Deps
from apps.api.errors import NotFound, responses
from apps.api.params import PathId
from voxcore_domain.agents import Agent, ProviderValue, VoicemailPolicy


class RuntimeConfig(msgspec.Struct, kw_only=True):
    """An agent's configuration as a fleet worker needs it."""

    agent_id: str
    tenant_id: str
    version: int
    """The agent's version: grows with every change."""
    name: str
    greeting: str
    language: str
    voice: str
    instructions: str
    prompts: dict[str, str]
    provider: str
    provider_settings: dict[str, ProviderValue]
    voicemail_policy: VoicemailPolicy
    voicemail_message: str | None

    @classmethod
    def of(cls, agent: Agent) -> RuntimeConfig:
        return cls(agent_id=agent.id, **agent_settings(agent))


def _cached(entry: Mapping[str, object] | None) -> RuntimeConfig | None:
    """The cached config, or None for a miss; an entry in another shape (written by an older
    release) is a miss too, so it is replaced rather than served or answered with a 500."""
    if entry is None:
        return None
    try:
        return msgspec.convert(entry, RuntimeConfig)
    except msgspec.ValidationError:
        return None


async def runtime_config(deps: Deps, agent_id: str, ttl: timedelta) -> RuntimeConfig:
    """The agent's config, from the cache or else from the store (then cached for `ttl`)."""
    hit = _cached(await deps.config_cache.get(agent_id))
    if hit is not None:
        return hit
    # The store's client blocks: off the event loop, like the sync handlers.
    agent = await anyio.to_thread.run_sync(deps.agents.get, agent_id)
    if agent is None:
        raise NotFound("agent", agent_id)
    config = RuntimeConfig.of(agent)
    await deps.config_cache.put(agent_id, msgspec.to_builtins(config), ttl)
    return config


@attrs.frozen
class RuntimeConfigs:
    """What the route reads configs from, as its one dependency: Litestar resolves two or more
    of a handler's dependencies in a task group per request, which cost this hot route more CPU
    than the rest of the request (measured in-process: 165 µs against 65 µs per cached read)."""

    deps: Deps
    ttl: timedelta
    """How long a filled cache entry lives."""

    async def read(self, agent_id: str) -> RuntimeConfig:
        return await runtime_config(self.deps, agent_id, self.ttl)


class RuntimeConfigController(Controller):
    path = "/runtime-config"
    tags = ("runtime config",)
    guards = (allow(Role.INTERNAL),)

    @get(
        "/{agent_id:str}",
        summary="An agent's runtime config, for fleet workers (internal token)",
        responses=responses(401, 403, 404, 429),
    )
    async def read(
        self, agent_id: PathId, runtime_configs: NamedDependency[RuntimeConfigs]
    ) -> RuntimeConfig:
        return await runtime_configs.read(agent_id)
