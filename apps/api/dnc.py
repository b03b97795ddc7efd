"""`/v1/dnc`: the tenant's do-not-call list. The dialler checks it at lease time, so a number
added here is never dialled again by any of the tenant's campaigns."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, delete, get, post
from litestar.params import JSONBody

from apps.api.auth import allow
from apps.api.caller import Role
from apps.api.errors import NotFound, responses
from apps.api.params import CallerArg, DepsArg, PathId
from apps.api.scope import own_tenant_id
from apps.api.wire import Body, Out

MAX_NUMBERS = 10_000
"""Numbers one request may add or check; send more in several requests."""

Phones = Annotated[
    list[Annotated[str, msgspec.Meta(max_length=20)]], msgspec.Meta(max_length=MAX_NUMBERS)
]


class Numbers(Body):
    phones: Phones
    """E.164 numbers, e.g. +14155550123."""


class Added(Out):
    added: int
    """How many were not on the list yet."""


class Blocked(Out):
    blocked: list[str]
    """Those of the numbers asked about that are on the list, sorted."""


class Listed(Out):
    phone: str
    blocked: bool


class DncController(Controller):
    path = "/dnc"
    tags = ("do not call",)
    guards = (allow(Role.TENANT, Role.ADMIN),)

    @post(
        "/",
        status_code=200,
        sync_to_thread=True,
        summary="Add numbers to the tenant's do-not-call list",
        responses=responses(400, 401, 403, 422, 429),
    )
    def add(self, data: JSONBody[Numbers], caller: CallerArg, deps: DepsArg) -> Added:
        return Added(added=deps.dnc.add(own_tenant_id(caller), data.phones))

    @post(
        "/check",
        status_code=200,
        sync_to_thread=True,
        summary="Which of these numbers are on the list",
        responses=responses(400, 401, 403, 422, 429),
    )
    def check(self, data: JSONBody[Numbers], caller: CallerArg, deps: DepsArg) -> Blocked:
        return Blocked(blocked=sorted(deps.dnc.blocked(own_tenant_id(caller), data.phones)))

    @get(
        "/{phone:str}",
        sync_to_thread=True,
        summary="Whether one number is on the list",
        responses=responses(400, 401, 403, 422, 429),
    )
    def read(self, phone: PathId, caller: CallerArg, deps: DepsArg) -> Listed:
        blocked = deps.dnc.blocked(own_tenant_id(caller), [phone])
        return Listed(phone=phone, blocked=phone in blocked)

    @delete(
        "/{phone:str}",
        sync_to_thread=True,
        summary="Take a number off the list",
        responses=responses(400, 401, 403, 404, 422, 429),
    )
    def remove(self, phone: PathId, caller: CallerArg, deps: DepsArg) -> None:
        if not deps.dnc.remove(own_tenant_id(caller), phone):
            raise NotFound("number on the do-not-call list", phone, "phone")
