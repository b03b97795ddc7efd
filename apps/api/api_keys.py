"""`/v1/tenants/{tenant_id}/api-keys`: a tenant's API keys, for the admin or the tenant itself.

A key's token is in the response that creates it and nowhere else, ever: only its digest is
stored. Revoking is immediate (keys are checked against the store on every request).
"""

from __future__ import annotations

from datetime import datetime

from litestar import Controller, delete, get, post
from litestar.params import JSONBody

from apps.api.auth import allow
from apps.api.caller import Role
from apps.api.errors import NotFound, responses
from apps.api.params import CallerArg, DepsArg, PathId
from apps.api.scope import visible_tenant
from apps.api.wire import Body, Name, Out
from voxcore_domain.apikeys import ApiKey, issue


class ApiKeyIn(Body):
    name: Name
    """What uses the key (e.g. `crm-sync`), to know what revoking it breaks."""


class ApiKeyOut(Out):
    id: str
    tenant_id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None
    active: bool

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        return cls(
            id=key.id,
            tenant_id=key.tenant_id,
            name=key.name,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
            active=key.active,
        )


class IssuedApiKeyOut(Out):
    key: ApiKeyOut
    token: str
    """`Authorization: Bearer <token>`. Shown this once: store it now."""


class ApiKeyController(Controller):
    path = "/tenants/{tenant_id:str}/api-keys"
    tags = ("api keys",)
    guards = (allow(Role.ADMIN, Role.TENANT),)

    @post(
        "/",
        sync_to_thread=True,
        summary="Create an API key; its token is shown once",
        responses=responses(400, 401, 403, 404, 422, 429),
    )
    def create(
        self,
        tenant_id: PathId,
        data: JSONBody[ApiKeyIn],
        caller: CallerArg,
        deps: DepsArg,
    ) -> IssuedApiKeyOut:
        tenant = visible_tenant(deps.tenants, caller, tenant_id)
        issued = issue(tenant.id, data.name, deps.clock.now(), deps.random_bytes)
        deps.api_keys.add(issued.key)
        return IssuedApiKeyOut(key=ApiKeyOut.of(issued.key), token=issued.token)

    @get(
        "/",
        sync_to_thread=True,
        summary="List the tenant's keys, revoked ones included (never their tokens)",
        responses=responses(401, 403, 404, 429),
    )
    def list_keys(self, tenant_id: PathId, caller: CallerArg, deps: DepsArg) -> list[ApiKeyOut]:
        tenant = visible_tenant(deps.tenants, caller, tenant_id)
        return [ApiKeyOut.of(key) for key in deps.api_keys.of_tenant(tenant.id)]

    @delete(
        "/{key_id:str}",
        sync_to_thread=True,
        summary="Revoke a key; it stops working at once",
        responses=responses(401, 403, 404, 429),
    )
    def revoke(
        self,
        tenant_id: PathId,
        key_id: PathId,
        caller: CallerArg,
        deps: DepsArg,
    ) -> None:
        tenant = visible_tenant(deps.tenants, caller, tenant_id)
        key = deps.api_keys.get(key_id)
        if key is None or key.tenant_id != tenant.id:
            raise NotFound("key", key_id)
        deps.api_keys.revoke(key_id, deps.clock.now())
