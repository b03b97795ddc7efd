"""`/v1/tenants`: the platform's customers, managed by the admin."""

from __future__ import annotations

import attrs
import msgspec
from litestar import Controller, get, patch, post
from litestar.params import JSONBody

from apps.api.auth import allow
from apps.api.caller import Role
from apps.api.errors import responses
from apps.api.params import CallerArg, DepsArg, PathId
from apps.api.scope import visible_tenant
from apps.api.wire import Body, Name, Out, given
from voxcore_domain.model import Tenant


class TenantIn(Body):
    name: Name
    weight: float = 1.0
    """Share of the platform's call slots against other tenants."""
    max_concurrency: int | None = None
    """Most calls the tenant may hold at once; null for no cap."""


class TenantPatch(Body):
    """The fields to change; the others stay."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    weight: float | msgspec.UnsetType = msgspec.UNSET
    max_concurrency: int | msgspec.UnsetType | None = msgspec.UNSET


class TenantOut(Out):
    id: str
    name: str
    weight: float
    max_concurrency: int | None

    @classmethod
    def of(cls, tenant: Tenant) -> TenantOut:
        return cls(
            id=tenant.id,
            name=tenant.name,
            weight=tenant.weight,
            max_concurrency=tenant.max_concurrency,
        )


class TenantController(Controller):
    path = "/tenants"
    tags = ("tenants",)

    @post(
        "/",
        guards=[allow(Role.ADMIN)],
        sync_to_thread=True,
        summary="Create a tenant",
        responses=responses(400, 401, 403, 422, 429),
    )
    def create(self, data: JSONBody[TenantIn], deps: DepsArg) -> TenantOut:
        tenant = Tenant(deps.new_id(), data.name, data.weight, data.max_concurrency)
        deps.tenants.put(tenant)
        return TenantOut.of(tenant)

    @get(
        "/",
        guards=[allow(Role.ADMIN)],
        sync_to_thread=True,
        summary="List tenants",
        responses=responses(401, 403, 429),
    )
    def list_tenants(self, deps: DepsArg) -> list[TenantOut]:
        return [TenantOut.of(tenant) for tenant in deps.tenants.all()]

    @get(
        "/{tenant_id:str}",
        guards=[allow(Role.ADMIN, Role.TENANT)],
        sync_to_thread=True,
        summary="Read a tenant (the admin, or the tenant itself)",
        responses=responses(401, 403, 404, 429),
    )
    def read(self, tenant_id: PathId, caller: CallerArg, deps: DepsArg) -> TenantOut:
        return TenantOut.of(visible_tenant(deps.tenants, caller, tenant_id))

    @patch(
        "/{tenant_id:str}",
        guards=[allow(Role.ADMIN)],
        sync_to_thread=True,
        summary="Change a tenant's name, weight or cap",
        responses=responses(400, 401, 403, 404, 422, 429),
    )
    def update(
        self,
        tenant_id: PathId,
        data: JSONBody[TenantPatch],
        caller: CallerArg,
        deps: DepsArg,
    ) -> TenantOut:
        tenant = visible_tenant(deps.tenants, caller, tenant_id)
        changed = attrs.evolve(tenant, **given(data))
        deps.tenants.put(changed)
        return TenantOut.of(changed)
