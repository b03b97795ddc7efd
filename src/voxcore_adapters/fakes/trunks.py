"""SIP trunks and fleet hosts in dicts."""

from __future__ import annotations

from voxcore_domain.trunks import FleetHost, Trunk


class InMemoryTrunks:
    """The `Trunks` port over a dict."""

    def __init__(self) -> None:
        self._trunks: dict[str, Trunk] = {}

    def put(self, trunk: Trunk) -> None:
        self._trunks[trunk.id] = trunk

    def get(self, trunk_id: str) -> Trunk | None:
        return self._trunks.get(trunk_id)

    def of_tenant(self, tenant_id: str) -> list[Trunk]:
        return [t for t in self.all() if t.tenant_id == tenant_id]

    def all(self) -> list[Trunk]:
        return [t for _, t in sorted(self._trunks.items())]

    def delete(self, trunk_id: str) -> bool:
        return self._trunks.pop(trunk_id, None) is not None


class InMemoryFleetHosts:
    """The `FleetHosts` port over a dict."""

    def __init__(self) -> None:
        self._hosts: dict[str, FleetHost] = {}

    def put(self, host: FleetHost) -> None:
        self._hosts[host.id] = host

    def get(self, host_id: str) -> FleetHost | None:
        return self._hosts.get(host_id)

    def all(self) -> list[FleetHost]:
        return [h for _, h in sorted(self._hosts.items())]

    def delete(self, host_id: str) -> bool:
        return self._hosts.pop(host_id, None) is not None
