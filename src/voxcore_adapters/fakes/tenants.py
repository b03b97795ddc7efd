"""Tenants in a dict."""

from __future__ import annotations

from voxcore_domain.model import Tenant


class InMemoryTenants:
    """The `Tenants` port over a dict."""

    def __init__(self) -> None:
        self._tenants: dict[str, Tenant] = {}

    def put(self, tenant: Tenant) -> None:
        self._tenants[tenant.id] = tenant

    def get(self, tenant_id: str) -> Tenant | None:
        return self._tenants.get(tenant_id)

    def all(self) -> list[Tenant]:
        return [self._tenants[key] for key in sorted(self._tenants)]
