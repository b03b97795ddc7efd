"""`/v1/fleet-hosts`: the platform's fleet hosts, where answered calls are attached.

The platform admin keeps the list; the fleet and the dialler (the internal token) read it. A
host's id is its name as its workers report it to the slot registry.
"""

from __future__ import annotations

from typing import Annotated

import attrs
import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import JSONBody

from apps.api.auth import allow
from apps.api.caller import Role
from apps.api.deps import Deps
from apps.api.errors import Conflict, NotFound, responses
from apps.api.params import DepsArg, PathId
from apps.api.wire import Body, Out, Ref, given
from voxcore_domain.trunks import FleetHost

Url = Ref
HostId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9._-]{1,128}$")]
"""A host name: letters, digits, `.`, `_`, `-`, so that it can be named in a path."""


class FleetHostIn(Body):
    id: HostId
    """The host's name, as its workers report it in the slot registry."""
    url: Url
    """Its nginx: `http://10.0.0.5:8000`, or `unix:/run/voxcore/nginx.sock`."""
    enabled: bool = True


class FleetHostPatch(Body):
    url: Url | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET


class FleetHostOut(Out):
    id: str
    url: str
    enabled: bool

    @classmethod
    def of(cls, host: FleetHost) -> FleetHostOut:
        return cls(id=host.id, url=host.url, enabled=host.enabled)


def known_host(deps: Deps, host_id: str) -> FleetHost:
    host = deps.fleet_hosts.get(host_id)
    if host is None:
        raise NotFound("fleet host", host_id, field="host_id")
    return host


_ONE = "/{host_id:str}"


class FleetHostController(Controller):
    path = "/fleet-hosts"
    tags = ("fleet hosts",)

    @post(
        "/",
        sync_to_thread=True,
        guards=[allow(Role.ADMIN)],
        summary="Add a fleet host",
        responses=responses(400, 401, 403, 409, 422, 429),
    )
    def create(self, data: JSONBody[FleetHostIn], deps: DepsArg) -> FleetHostOut:
        host = FleetHost(data.id, data.url, data.enabled)
        # Ids are chosen by the admin: a second host under one name would hide the first.
        if deps.fleet_hosts.get(host.id) is not None:
            raise Conflict(f"fleet host {host.id!r} exists: change it instead", field="id")
        deps.fleet_hosts.put(host)
        return FleetHostOut.of(host)

    @get(
        "/",
        sync_to_thread=True,
        guards=[allow(Role.ADMIN, Role.INTERNAL)],
        summary="List the fleet hosts",
        responses=responses(401, 403, 429),
    )
    def list_hosts(self, deps: DepsArg) -> list[FleetHostOut]:
        return [FleetHostOut.of(h) for h in deps.fleet_hosts.all()]

    @get(
        _ONE,
        sync_to_thread=True,
        guards=[allow(Role.ADMIN, Role.INTERNAL)],
        summary="Read a fleet host",
        responses=responses(401, 403, 404, 429),
    )
    def read(self, host_id: PathId, deps: DepsArg) -> FleetHostOut:
        return FleetHostOut.of(known_host(deps, host_id))

    @patch(
        _ONE,
        sync_to_thread=True,
        guards=[allow(Role.ADMIN)],
        summary="Change a fleet host's URL, or disable it",
        responses=responses(400, 401, 403, 404, 422, 429),
    )
    def update(
        self, host_id: PathId, data: JSONBody[FleetHostPatch], deps: DepsArg
    ) -> FleetHostOut:
        edited = attrs.evolve(known_host(deps, host_id), **given(data))
        deps.fleet_hosts.put(edited)
        return FleetHostOut.of(edited)

    @delete(
        _ONE,
        sync_to_thread=True,
        guards=[allow(Role.ADMIN)],
        summary="Remove a fleet host",
        responses=responses(401, 403, 404, 429),
    )
    def remove(self, host_id: PathId, deps: DepsArg) -> None:
        if not deps.fleet_hosts.delete(host_id):
            raise NotFound("fleet host", host_id, field="host_id")
