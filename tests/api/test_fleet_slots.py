"""`GET /v1/fleet/slots`: the console's fleet view, from the slot registry."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from litestar.testing import TestClient

from apps.api.deps import Deps
from tests.api.support import ADMIN, TenantSession
from voxcore_adapters.fakes.redis_fakes import ManualClock
from voxcore_domain.model import Slot, SlotState


def beat(
    deps: Deps, clock: ManualClock, host: str, worker: str, state: str, call: str | None
) -> None:
    slot = Slot(host, worker, SlotState(state), clock.now(), call_id=call)
    asyncio.run(deps.slots.heartbeat(slot, timedelta(seconds=30)))


def test_slots_are_grouped_by_host_and_a_tenant_sees_no_call_ids(
    client: TestClient[Any], deps: Deps, clock: ManualClock, acme: TenantSession
) -> None:
    beat(deps, clock, "h1", "w1", "busy", "call-9")
    beat(deps, clock, "h1", "w2", "idle", None)
    beat(deps, clock, "h2", "w1", "draining", None)

    seen = client.get("/v1/fleet/slots", headers=acme.headers).json()
    assert [(h["host"], h["idle"], h["busy"], h["draining"]) for h in seen["hosts"]] == [
        ("h1", 1, 1, 0),
        ("h2", 0, 0, 1),
    ]
    assert all(slot["call_id"] is None for h in seen["hosts"] for slot in h["slots"])
    admin = client.get("/v1/fleet/slots", headers=ADMIN).json()
    assert admin["hosts"][0]["slots"][0]["call_id"] == "call-9"


def test_a_slot_whose_heartbeat_is_stale_is_left_out(
    client: TestClient[Any], deps: Deps, clock: ManualClock, acme: TenantSession
) -> None:
    beat(deps, clock, "h1", "w1", "idle", None)
    clock.advance(timedelta(seconds=20))
    assert client.get("/v1/fleet/slots", headers=acme.headers).json() == {"hosts": []}


def test_the_fleet_view_needs_a_key(client: TestClient[Any]) -> None:
    assert client.get("/v1/fleet/slots").status_code == 401
