"""`/v1/trunks`: a tenant's outbound SIP trunks, which its campaigns dial through.

A campaign names one of its tenant's enabled trunks, with a caller id the trunk may present (both
checked when the campaign is created or edited). A trunk that a campaign not yet completed uses
cannot be deleted (409 naming the campaigns): move the campaigns to another trunk first.
"""

from __future__ import annotations

from typing import Annotated

import attrs
import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import JSONBody

from apps.api.auth import allow
from apps.api.caller import Caller, Role
from apps.api.deps import Deps
from apps.api.errors import Conflict, NotFound, responses
from apps.api.params import CallerArg, DepsArg, PathId
from apps.api.scope import campaigns_using, own_tenant_id, own_trunk
from apps.api.wire import Body, Name, Out, Ref, given
from voxcore_domain.trunks import Trunk

CallerIds = Annotated[
    list[Annotated[str, msgspec.Meta(max_length=20)]], msgspec.Meta(max_length=1_000)
]


class TrunkIn(Body):
    name: Name
    livekit_trunk_id: Ref
    """The LiveKit outbound SIP trunk (`ST_…`) the calls are placed through."""
    caller_ids: CallerIds = msgspec.field(default_factory=list)
    """E.164 numbers the trunk may present; empty: any."""
    cps: float = 1.0
    """Call set-ups per second the carrier accepts."""
    channels: int | None = None
    """Most calls at once; null when the carrier sets no limit."""
    enabled: bool = True

    def to_domain(self, trunk_id: str, tenant_id: str) -> Trunk:
        return Trunk(
            id=trunk_id,
            tenant_id=tenant_id,
            name=self.name,
            livekit_trunk_id=self.livekit_trunk_id,
            caller_ids=self.caller_ids,
            cps=self.cps,
            channels=self.channels,
            enabled=self.enabled,
        )


class TrunkPatch(Body):
    """The fields to change; `caller_ids` is replaced whole."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    livekit_trunk_id: Ref | msgspec.UnsetType = msgspec.UNSET
    caller_ids: CallerIds | msgspec.UnsetType = msgspec.UNSET
    cps: float | msgspec.UnsetType = msgspec.UNSET
    channels: int | msgspec.UnsetType | None = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET


class TrunkOut(Out):
    id: str
    tenant_id: str
    name: str
    livekit_trunk_id: str
    caller_ids: list[str]
    cps: float
    channels: int | None
    enabled: bool

    @classmethod
    def of(cls, trunk: Trunk) -> TrunkOut:
        return cls(
            id=trunk.id,
            tenant_id=trunk.tenant_id,
            name=trunk.name,
            livekit_trunk_id=trunk.livekit_trunk_id,
            caller_ids=list(trunk.caller_ids),
            cps=trunk.cps,
            channels=trunk.channels,
            enabled=trunk.enabled,
        )


_ONE = "/{trunk_id:str}"


class TrunkController(Controller):
    path = "/trunks"
    tags = ("trunks",)
    guards = (allow(Role.TENANT, Role.ADMIN),)

    @post(
        "/",
        sync_to_thread=True,
        summary="Add an outbound SIP trunk",
        responses=responses(400, 401, 403, 422, 429),
    )
    def create(self, data: JSONBody[TrunkIn], caller: CallerArg, deps: DepsArg) -> TrunkOut:
        trunk = data.to_domain(deps.new_id(), own_tenant_id(caller))
        deps.trunks.put(trunk)
        return TrunkOut.of(trunk)

    @get(
        "/",
        sync_to_thread=True,
        summary="List the tenant's trunks",
        responses=responses(400, 401, 403, 429),
    )
    def list_trunks(self, caller: CallerArg, deps: DepsArg) -> list[TrunkOut]:
        return [TrunkOut.of(t) for t in deps.trunks.of_tenant(own_tenant_id(caller))]

    @get(
        _ONE,
        sync_to_thread=True,
        summary="Read a trunk",
        responses=responses(400, 401, 403, 404, 429),
    )
    def read(self, trunk_id: PathId, caller: CallerArg, deps: DepsArg) -> TrunkOut:
        return TrunkOut.of(own_trunk(deps.trunks, caller, trunk_id))

    @patch(
        _ONE,
        sync_to_thread=True,
        summary="Change a trunk",
        responses=responses(400, 401, 403, 404, 422, 429),
    )
    def update(
        self, trunk_id: PathId, data: JSONBody[TrunkPatch], caller: CallerArg, deps: DepsArg
    ) -> TrunkOut:
        current = own_trunk(deps.trunks, caller, trunk_id)
        edited = attrs.evolve(current, **given(data))
        deps.trunks.put(edited)
        return TrunkOut.of(edited)

    @delete(
        _ONE,
        sync_to_thread=True,
        summary="Delete a trunk no campaign uses",
        responses=responses(400, 401, 403, 404, 409, 429),
    )
    def remove(self, trunk_id: PathId, caller: CallerArg, deps: DepsArg) -> None:
        _remove(deps, caller, trunk_id)


def _remove(deps: Deps, caller: Caller, trunk_id: str) -> None:
    trunk = own_trunk(deps.trunks, caller, trunk_id)
    users = campaigns_using(deps.campaigns, trunk.tenant_id, lambda c: c.trunk_id == trunk_id)
    if users:
        raise Conflict(
            f"trunk {trunk_id!r} is used by campaigns {', '.join(users)}: "
            "give them another trunk or complete them first",
            field="trunk_id",
        )
    if not deps.trunks.delete(trunk_id):
        raise NotFound("trunk", trunk_id)
