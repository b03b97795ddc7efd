"""`/v1/inbound-numbers`: which of a tenant's voice agents answers calls to each of its numbers.

When LiveKit reports a SIP caller joining a room (`POST /v1/livekit/webhook`), the number it
called is looked up here and the call is attached to a fleet worker running that agent. A
number belongs to one entry platform-wide: adding a number already held is a 409.
"""

from __future__ import annotations

import attrs
import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import JSONBody

from apps.api.auth import allow
from apps.api.caller import Caller, Role
from apps.api.deps import Deps
from apps.api.errors import Conflict, NotFound, responses
from apps.api.params import CallerArg, DepsArg, PathId
from apps.api.scope import check_own_agent, own_tenant_id
from apps.api.wire import Body, Out, Ref, given
from voxcore_domain.inbound import InboundNumber

Number = Ref


class InboundNumberIn(Body):
    number: Number
    """The called number, E.164."""
    agent_id: Ref
    """One of the tenant's voice agents (else 422)."""
    enabled: bool = True


class InboundNumberPatch(Body):
    """The number itself never changes: delete the entry and add another."""

    agent_id: Ref | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET


class InboundNumberOut(Out):
    id: str
    tenant_id: str
    number: str
    agent_id: str
    enabled: bool

    @classmethod
    def of(cls, entry: InboundNumber) -> InboundNumberOut:
        return cls(
            id=entry.id,
            tenant_id=entry.tenant_id,
            number=entry.number,
            agent_id=entry.agent_id,
            enabled=entry.enabled,
        )


def own_entry(deps: Deps, caller: Caller, entry_id: str) -> InboundNumber:
    entry = deps.inbound_numbers.get(entry_id)
    if entry is None or entry.tenant_id != own_tenant_id(caller):
        raise NotFound("inbound number", entry_id, field="number_id")
    return entry


_ONE = "/{number_id:str}"


class InboundNumberController(Controller):
    path = "/inbound-numbers"
    tags = ("inbound numbers",)
    guards = (allow(Role.TENANT, Role.ADMIN),)

    @post(
        "/",
        sync_to_thread=True,
        summary="Route calls to a number to a voice agent",
        responses=responses(400, 401, 403, 409, 422, 429),
    )
    def create(
        self, data: JSONBody[InboundNumberIn], caller: CallerArg, deps: DepsArg
    ) -> InboundNumberOut:
        entry = InboundNumber(
            deps.new_id(), own_tenant_id(caller), data.number, data.agent_id, data.enabled
        )
        check_own_agent(deps.agents, caller, entry.agent_id)
        if not deps.inbound_numbers.add(entry):
            raise Conflict(f"{entry.number} is already routed", field="number")
        return InboundNumberOut.of(entry)

    @get(
        "/",
        sync_to_thread=True,
        summary="List the tenant's inbound numbers",
        responses=responses(400, 401, 403, 429),
    )
    def list_numbers(self, caller: CallerArg, deps: DepsArg) -> list[InboundNumberOut]:
        entries = deps.inbound_numbers.of_tenant(own_tenant_id(caller))
        return [InboundNumberOut.of(e) for e in entries]

    @get(
        _ONE,
        sync_to_thread=True,
        summary="Read an inbound number",
        responses=responses(400, 401, 403, 404, 429),
    )
    def read(self, number_id: PathId, caller: CallerArg, deps: DepsArg) -> InboundNumberOut:
        return InboundNumberOut.of(own_entry(deps, caller, number_id))

    @patch(
        _ONE,
        sync_to_thread=True,
        summary="Change the agent that answers a number, or disable it",
        responses=responses(400, 401, 403, 404, 422, 429),
    )
    def update(
        self,
        number_id: PathId,
        data: JSONBody[InboundNumberPatch],
        caller: CallerArg,
        deps: DepsArg,
    ) -> InboundNumberOut:
        edited = attrs.evolve(own_entry(deps, caller, number_id), **given(data))
        if data.agent_id is not msgspec.UNSET:
            check_own_agent(deps.agents, caller, edited.agent_id)
        if not deps.inbound_numbers.replace(edited):
            raise NotFound("inbound number", number_id, field="number_id")
        return InboundNumberOut.of(edited)

    @delete(
        _ONE,
        sync_to_thread=True,
        summary="Stop routing a number",
        responses=responses(400, 401, 403, 404, 429),
    )
    def remove(self, number_id: PathId, caller: CallerArg, deps: DepsArg) -> None:
        own_entry(deps, caller, number_id)
        if not deps.inbound_numbers.delete(number_id):
            raise NotFound("inbound number", number_id, field="number_id")
