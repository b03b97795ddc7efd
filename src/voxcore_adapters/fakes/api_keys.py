"""API keys in a dict."""

from __future__ import annotations

from datetime import datetime

from voxcore_domain.apikeys import ApiKey
from voxcore_domain.errors import ValidationError


class InMemoryApiKeys:
    """The `ApiKeys` port over a dict."""

    def __init__(self) -> None:
        self._keys: dict[str, ApiKey] = {}

    def add(self, key: ApiKey) -> None:
        if key.id in self._keys:
            raise ValidationError("id", f"an API key {key.id!r} exists")
        self._keys[key.id] = key

    def get(self, key_id: str) -> ApiKey | None:
        return self._keys.get(key_id)

    def of_tenant(self, tenant_id: str) -> list[ApiKey]:
        return sorted(
            (key for key in self._keys.values() if key.tenant_id == tenant_id),
            key=lambda key: (key.created_at, key.id),
        )

    def revoke(self, key_id: str, at: datetime) -> ApiKey | None:
        key = self._keys.get(key_id)
        if key is None:
            return None
        revoked = key.revoke(at)
        self._keys[key_id] = revoked
        return revoked
