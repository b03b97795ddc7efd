"""What the authorization matrices share: an app's route table, and the callers of the roles
that keep no tenant's objects (the fleet worker, the dialler)."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.routes import HTTPRoute, WebSocketRoute

from tests.api.support import ADMIN_KEY, INTERNAL_TOKEN, bearer

CALLERS = {
    "anonymous": {},
    "tenant": bearer("vbk_0123456789abcdef0123456789abcdef_" + "s" * 43),
    "admin": bearer(ADMIN_KEY),
    "internal": bearer(INTERNAL_TOKEN),
}
"""Each kind of caller and its headers: nobody, a tenant's API key, the admin key and the
internal token."""

_TYPED = re.compile(r"\{(\w+):\w+\}")


def route_table(app: Litestar) -> set[tuple[str, str]]:
    """Every (method, path) `app` serves (`WS` for a WebSocket route), the path's parameters
    without their types; but the OPTIONS Litestar answers by itself."""
    table: set[tuple[str, str]] = set()
    for route in app.routes:
        path = _TYPED.sub(r"{\1}", route.path)
        if isinstance(route, WebSocketRoute):
            table.add(("WS", path))
        elif isinstance(route, HTTPRoute):
            table |= {(m, path) for h in route.route_handlers for m in h.http_methods}
    return {entry for entry in table if entry[0] != "OPTIONS"}
