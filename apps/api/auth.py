"""Who is calling: a bearer token turned into a `Caller`, and guards that admit roles.

Three kinds of token: the platform admin key and the internal token (both from settings, for the
operator and for the fleet and dialler), and tenants' API keys (`vbk_<id>_<secret>`, looked up by
id, checked against the stored digest). A token is never logged, nor kept on the caller.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

import anyio.to_thread
import attrs
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp, Guard

from apps.api.caller import Caller, Role
from apps.api.errors import NotFound
from apps.api.scope import TENANT_HEADER
from apps.api.throttle import Throttle
from voxcore_domain.apikeys import digest, parse_token
from voxcore_domain.errors import ValidationError
from voxcore_domain.ports import ApiKeys, Tenants

log = logging.getLogger(__name__)


class Authenticator:
    """Turns a bearer token into a `Caller`, or None when the token is not a valid one."""

    def __init__(
        self,
        admin_key: str,
        internal_token: str,
        api_keys: ApiKeys,
        tenants: Tenants | None = None,
    ) -> None:
        # Digests, compared in constant time: the comparison takes as long whatever the token.
        self._admin = digest(admin_key)
        self._internal = digest(internal_token)
        self._keys = api_keys
        self._tenants = tenants

    async def acting_for(self, caller: Caller, tenant_id: str | None) -> Caller:
        """`caller` as it acts for the tenant named in `X-Vox-Tenant`: the admin key takes that
        tenant (404 naming the header when there is none), a tenant's key may only name its own
        tenant (403 otherwise), the internal token never acts for a tenant."""
        if tenant_id is None:
            return caller
        if caller.role is Role.ADMIN:
            known = self._tenants is not None and (
                await anyio.to_thread.run_sync(self._tenants.get, tenant_id) is not None
            )
            if not known:
                raise NotFound("tenant", tenant_id, field=TENANT_HEADER)
            return attrs.evolve(caller, tenant_id=tenant_id)
        if caller.role is Role.TENANT and caller.tenant_id == tenant_id:
            return caller
        raise PermissionDeniedException(f"only the admin key may send {TENANT_HEADER}")

    async def caller(self, token: str) -> Caller | None:
        presented = digest(token)
        if hmac.compare_digest(presented, self._admin):
            return Caller(Role.ADMIN, "admin")
        if hmac.compare_digest(presented, self._internal):
            return Caller(Role.INTERNAL, "internal")
        try:
            parts = parse_token(token)
        except ValidationError:
            return None
        # The key store may be MongoDB (blocking): off the event loop.
        key = await anyio.to_thread.run_sync(self._keys.get, parts.key_id)
        if key is None or not key.active or not key.matches(parts.secret):
            log.info("refused API key %s: unknown, revoked or wrong secret", parts.key_id)
            return None
        return Caller(Role.TENANT, key.id, key.tenant_id)


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header."""
    scheme, _, token = (header or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class AuthMiddleware(AbstractAuthenticationMiddleware):
    """Authenticates every request to a route not excluded from auth, then charges the caller's
    rate limit: a refused request costs the API one digest, a store read at most."""

    def __init__(
        self,
        app: ASGIApp,
        authenticator: Authenticator,
        throttle: Throttle,
        exclude: list[str] | None = None,
    ) -> None:
        # OPTIONS too: Litestar would skip it by default, and the routes' guards would then
        # find no caller (a 500). No browser preflights here: the console is same-origin.
        super().__init__(app, exclude=exclude, exclude_http_methods=())
        self._authenticator = authenticator
        self._throttle = throttle

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        token = bearer_token(connection.headers.get("authorization"))
        caller = None if token is None else await self._authenticator.caller(token)
        if caller is None:
            raise NotAuthorizedException(
                "a valid API key is needed: Authorization: Bearer <key>",
                headers={"WWW-Authenticate": "Bearer"},
            )
        await self._throttle.admit(caller)
        named = connection.headers.get(TENANT_HEADER)
        caller = await self._authenticator.acting_for(caller, named.strip() if named else None)
        return AuthenticationResult(user=caller, auth=caller.key_id)


def allow(*roles: Role) -> Guard:
    """A guard that admits callers with one of `roles`."""
    names = " or ".join(roles)

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        caller = connection.user
        if not isinstance(caller, Caller) or caller.role not in roles:
            raise PermissionDeniedException(f"this route is for {names} callers")

    return guard


def current_caller(request: Request[Caller, str, Any]) -> Caller:
    """The request's caller, as the auth middleware set it."""
    return request.user
