"""Who is calling: the roles and the authenticated caller of one request."""

from __future__ import annotations

from enum import StrEnum

import attrs


class Role(StrEnum):
    ADMIN = "admin"
    """The platform operator: tenants and their keys."""
    TENANT = "tenant"
    """One tenant's systems: its campaigns, contacts, DNC list and keys."""
    INTERNAL = "internal"
    """The fleet and the dialler."""


@attrs.frozen
class Caller:
    """The authenticated caller of one request."""

    role: Role
    key_id: str
    """`admin`, `internal` or the API key's id: names the caller in logs and its rate limit."""
    tenant_id: str | None = None
    """The tenant whose objects a `tenant` caller sees; None for the other roles."""
