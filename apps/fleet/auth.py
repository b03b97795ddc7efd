"""Who may hand this worker a call: the call-taking routes (`POST /attach`, `/livekit/dialout`,
`/livekit/widget`) need the internal token, the one the API gives the fleet and the dialler
(`VOX_FLEET_API_TOKEN` = `VOX_API_INTERNAL_TOKEN`), as `Authorization: Bearer <token>`.

Without it anyone who reaches the fleet's nginx (public: carriers' media streams come in there)
could place calls on the tenants' trunks or fill every slot. A worker started without a token
takes these routes from anyone, and says so at start: the memory backend's demos and tests.
The token is compared as a digest in constant time and never logged.
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Guard

from voxcore_domain.apikeys import digest

INTERNAL = "internal"
"""The `opt` key that marks a route as one for the internal token only."""


def _bearer(header: str | None) -> str | None:
    scheme, _, token = (header or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def internal_routes(token: str | None) -> Guard:
    """A guard for the whole app: a route whose `opt` marks it `INTERNAL` is refused (401)
    unless the request bears `token`; with no token configured every request is admitted."""
    expected = None if token is None else digest(token)

    async def guard(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        if expected is None or not handler.opt.get(INTERNAL):
            return
        presented = _bearer(connection.headers.get("authorization"))
        if presented is None or not hmac.compare_digest(digest(presented), expected):
            raise NotAuthorizedException(
                "this route needs the internal token: Authorization: Bearer <token>",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return guard
