"""`GET /v1/fleet/slots`: the fleet's workers as they last reported in, for the console's fleet
view. Any caller may read it; tenants see states only, never which call a slot holds, since
calls of other tenants run on the same workers."""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Controller, get

from apps.api.auth import allow
from apps.api.caller import Role
from apps.api.errors import responses
from apps.api.params import CallerArg, DepsArg
from voxcore_domain.model import Slot, SlotState
from voxcore_domain.slots import DEFAULT_STALENESS, is_stale, summarize


class SlotView(msgspec.Struct, kw_only=True):
    worker: str
    state: SlotState
    heartbeat_at: datetime
    call_id: str | None = None
    """Only for the admin and internal callers."""


class HostView(msgspec.Struct, kw_only=True):
    host: str
    idle: int
    busy: int
    draining: int
    slots: list[SlotView]


class FleetView(msgspec.Struct, kw_only=True):
    hosts: list[HostView]


def fleet_view(slots: list[Slot], now: datetime, show_calls: bool) -> FleetView:
    """Live slots grouped by host, counted as the dialler counts its capacity (`summarize`); a
    slot whose heartbeat is stale is left out, and so is a host with no live slot."""
    capacity = summarize(slots, now, DEFAULT_STALENESS)
    live: dict[str, list[Slot]] = {}
    for slot in slots:
        if not is_stale(slot, now, DEFAULT_STALENESS):
            live.setdefault(slot.host, []).append(slot)
    return FleetView(
        hosts=[
            HostView(
                host=name,
                idle=counts.idle,
                busy=counts.busy,
                draining=counts.draining,
                slots=[
                    SlotView(
                        worker=s.worker,
                        state=s.state,
                        heartbeat_at=s.heartbeat_at,
                        call_id=s.call_id if show_calls else None,
                    )
                    for s in sorted(live[name], key=lambda s: s.worker)
                ],
            )
            for name, counts in capacity.hosts.items()
            if name in live
        ]
    )


class FleetController(Controller):
    path = "/fleet"
    tags = ("fleet",)
    guards = (allow(Role.TENANT, Role.ADMIN, Role.INTERNAL),)

    @get(
        "/slots",
        summary="The fleet's workers by host: idle, busy or draining",
        description=(
            "Every worker whose heartbeat is live, grouped by host, with counts per state. "
            "Only the admin and internal callers see which call a busy slot holds."
        ),
        responses=responses(400, 401, 403, 429, 503),
    )
    async def slots(self, deps: DepsArg, caller: CallerArg) -> FleetView:
        return fleet_view(
            await deps.slots.slots(), deps.clock.now(), caller.role is not Role.TENANT
        )
