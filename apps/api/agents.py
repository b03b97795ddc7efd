"""`/v1/agents`: a tenant's voice agents, the configuration a fleet worker runs a call with.

Every change or delete invalidates the agent's cached runtime config (`/v1/runtime-config`)
once it is stored. Every change bumps the agent's `version` through a compare-and-set in the store
(`Agents.replace`), so of two edits read at the same version one wins and the other is a 409
instead of silently undoing the first. A client may also send the `version` it edited in the
PATCH body: if the agent has moved on since, that is a 409 too.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
import attrs
import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import JSONBody

from apps.api.auth import allow
from apps.api.caller import Caller, Role
from apps.api.deps import Deps
from apps.api.errors import Conflict, NotFound, responses
from apps.api.params import CallerArg, DepsArg, PathId
from apps.api.scope import campaigns_using, own_agent, own_tenant_id
from apps.api.wire import Body, Name, Out, given
from voxcore_domain.agents import Agent, ProviderValue, VoicemailPolicy

_AGENT = Agent("-", "-", "-", greeting="-")
"""The domain's defaults, read once so the wire types cannot drift from them."""

Text = Annotated[str, msgspec.Meta(max_length=64)]
Speech = Annotated[str, msgspec.Meta(max_length=2_000)]
"""A line the agent says: bounded, so a body cannot carry megabytes in one."""
Script = Annotated[str, msgspec.Meta(max_length=50_000)]
"""A system prompt or script: long, but still bounded."""
Prompts = Annotated[dict[str, Speech], msgspec.Meta(max_length=100)]
ProviderSettings = Annotated[dict[str, ProviderValue], msgspec.Meta(max_length=100)]


class AgentIn(Body):
    name: Name
    greeting: Speech
    """What the agent says first; it must identify the call as an artificial voice (FCC 24-17)."""
    language: Text = _AGENT.language
    """BCP 47 tag, e.g. en-US."""
    voice: Text = _AGENT.voice
    instructions: Script = _AGENT.instructions
    prompts: Prompts = msgspec.field(default_factory=dict)
    """Named lines the script can say (`goodbye`, `opt_out`, …)."""
    provider: Text = _AGENT.provider
    """`scripted` (deterministic) or a model provider."""
    provider_settings: ProviderSettings = msgspec.field(default_factory=dict)
    """Flat: each value text, a number or a boolean."""
    voicemail_policy: VoicemailPolicy = _AGENT.voicemail_policy
    voicemail_message: Speech | None = None
    """Required when `voicemail_policy` is `leave_message`."""

    def to_domain(self, agent_id: str, tenant_id: str) -> Agent:
        return Agent(
            id=agent_id,
            tenant_id=tenant_id,
            name=self.name,
            greeting=self.greeting,
            language=self.language,
            voice=self.voice,
            instructions=self.instructions,
            prompts=self.prompts,
            provider=self.provider,
            provider_settings=self.provider_settings,
            voicemail_policy=self.voicemail_policy,
            voicemail_message=self.voicemail_message,
        )


class AgentPatch(Body):
    """The fields to change; `prompts` and `provider_settings` are replaced whole."""

    version: int | msgspec.UnsetType = msgspec.UNSET
    """The version this edit was made from: when given and the agent has changed since, 409."""
    name: Name | msgspec.UnsetType = msgspec.UNSET
    greeting: Speech | msgspec.UnsetType = msgspec.UNSET
    language: Text | msgspec.UnsetType = msgspec.UNSET
    voice: Text | msgspec.UnsetType = msgspec.UNSET
    instructions: Script | msgspec.UnsetType = msgspec.UNSET
    prompts: Prompts | msgspec.UnsetType = msgspec.UNSET
    provider: Text | msgspec.UnsetType = msgspec.UNSET
    provider_settings: ProviderSettings | msgspec.UnsetType = msgspec.UNSET
    voicemail_policy: VoicemailPolicy | msgspec.UnsetType = msgspec.UNSET
    voicemail_message: Speech | msgspec.UnsetType | None = msgspec.UNSET

    def apply(self, agent: Agent) -> Agent:
        """The edited agent, one version on; 409 if the client edited an older version."""
        changes = given(self)
        read_at = changes.pop("version", agent.version)
        if read_at != agent.version:
            raise Conflict(
                f"agent {agent.id!r} is at version {agent.version}, not {read_at}: "
                "read it again and reapply the change"
            )
        return attrs.evolve(agent, **changes, version=agent.version + 1)


class AgentOut(Out):
    id: str
    tenant_id: str
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
    version: int
    """Grows by one with every change."""

    @classmethod
    def of(cls, agent: Agent) -> AgentOut:
        return cls(id=agent.id, **agent_settings(agent))


def agent_settings(agent: Agent) -> dict[str, Any]:
    """Every field of `agent` but its id, as the wire types carry them (plain dicts)."""
    return {
        "tenant_id": agent.tenant_id,
        "name": agent.name,
        "greeting": agent.greeting,
        "language": agent.language,
        "voice": agent.voice,
        "instructions": agent.instructions,
        "prompts": dict(agent.prompts),
        "provider": agent.provider,
        "provider_settings": dict(agent.provider_settings),
        "voicemail_policy": agent.voicemail_policy,
        "voicemail_message": agent.voicemail_message,
        "version": agent.version,
    }


_ONE = "/{agent_id:str}"


class AgentController(Controller):
    path = "/agents"
    tags = ("agents",)
    guards = (allow(Role.TENANT, Role.ADMIN),)

    @post(
        "/",
        sync_to_thread=True,
        summary="Create a voice agent (at version 1)",
        responses=responses(400, 401, 403, 422, 429),
    )
    def create(self, data: JSONBody[AgentIn], caller: CallerArg, deps: DepsArg) -> AgentOut:
        agent = data.to_domain(deps.new_id(), own_tenant_id(caller))
        deps.agents.put(agent)
        return AgentOut.of(agent)

    @get(
        "/",
        sync_to_thread=True,
        summary="List the tenant's voice agents",
        responses=responses(400, 401, 403, 429),
    )
    def list_agents(self, caller: CallerArg, deps: DepsArg) -> list[AgentOut]:
        return [AgentOut.of(a) for a in deps.agents.of_tenant(own_tenant_id(caller))]

    @get(
        _ONE,
        sync_to_thread=True,
        summary="Read a voice agent",
        responses=responses(400, 401, 403, 404, 429),
    )
    def read(self, agent_id: PathId, caller: CallerArg, deps: DepsArg) -> AgentOut:
        return AgentOut.of(own_agent(deps.agents, caller, agent_id))

    @patch(
        _ONE,
        summary="Change a voice agent; its version grows by one",
        responses=responses(400, 401, 403, 404, 409, 422, 429),
    )
    async def update(
        self,
        agent_id: PathId,
        data: JSONBody[AgentPatch],
        caller: CallerArg,
        deps: DepsArg,
    ) -> AgentOut:
        edited = await anyio.to_thread.run_sync(_update, deps, caller, agent_id, data)
        # After the write: a worker's fill from now on reads the new version.
        await deps.config_cache.invalidate(agent_id)
        return AgentOut.of(edited)

    @delete(
        _ONE,
        summary="Delete a voice agent no campaign or inbound number uses",
        responses=responses(400, 401, 403, 404, 409, 429),
    )
    async def remove(self, agent_id: PathId, caller: CallerArg, deps: DepsArg) -> None:
        await anyio.to_thread.run_sync(_remove, deps, caller, agent_id)
        await deps.config_cache.invalidate(agent_id)


def _update(deps: Deps, caller: Caller, agent_id: str, data: AgentPatch) -> Agent:
    current = own_agent(deps.agents, caller, agent_id)
    edited = data.apply(current)
    if not deps.agents.replace(edited, expected_version=current.version):
        # Another edit (or a delete) was stored between our read and our write.
        raise Conflict(f"agent {agent_id!r} changed while this edit was made: retry it")
    return edited


def _remove(deps: Deps, caller: Caller, agent_id: str) -> None:
    agent = own_agent(deps.agents, caller, agent_id)
    users = campaigns_using(deps.campaigns, agent.tenant_id, lambda c: c.agent_id == agent_id)
    numbers = [
        e.number for e in deps.inbound_numbers.of_tenant(agent.tenant_id) if e.agent_id == agent_id
    ]
    if users or numbers:
        uses = ([f"campaigns {', '.join(users)}"] if users else []) + (
            [f"inbound numbers {', '.join(numbers)}"] if numbers else []
        )
        raise Conflict(
            f"agent {agent_id!r} is used by {' and '.join(uses)}: give them another agent "
            "(or complete the campaigns) first",
            field="agent_id",
        )
    if not deps.agents.delete(agent_id):
        # Deleted by a concurrent request after our read: the same answer as never there.
        raise NotFound("agent", agent_id)
