"""Draining in process (the SIGTERM path itself runs in `test_granian.py`): a draining worker
refuses new calls with 429, reports itself draining, and stops once its call has ended."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

from litestar import Litestar
from litestar.testing import TestClient

from apps.fleet.drain import Drain
from apps.fleet.settings import Settings
from apps.fleet.slot import SlotGuard, report_slot
from tests.fleet.support import PARAMETERS, CarrierOnSocket, worker_app
from tests.fleet.test_attach import body
from voxcore_adapters.clock import UtcClock
from voxcore_adapters.fakes.redis_fakes import InMemorySlotRegistry
from voxcore_adapters.testing.carrier import TwilioCarrier
from voxcore_domain.model import Slot


def begin_drain(client: TestClient[Litestar]) -> None:
    drain: Drain = client.app.state.drain
    with client.portal() as portal:
        # On the app's own loop, as the SIGTERM handler runs.
        portal.call(drain.begin)


def test_a_draining_worker_refuses_calls_finishes_its_own_then_stops(settings: Settings) -> None:
    stopped = threading.Event()
    with TestClient(worker_app(settings, stop=stopped.set)) as client:
        with client.websocket_connect("/media/twilio") as ws:
            call = CarrierOnSocket(ws, TwilioCarrier(PARAMETERS))
            call.answer()
            begin_drain(client)
            begin_drain(client)  # Granian's main process passes its own SIGTERM on: harmless.
            answer = client.post("/attach", json=body("call-2"))
            assert answer.status_code == 429
            assert answer.headers["Retry-After"] == "1"
            assert answer.json() == {"error": "draining", "message": "this worker is draining"}
            health = client.get("/health")
            assert (health.status_code, health.json()["status"]) == (503, "draining")
            with client.websocket_connect("/media/twilio") as late:
                other = CarrierOnSocket(late, TwilioCarrier({**PARAMETERS, "call_id": "call-3"}))
                other.send(other.carrier.opening())
                assert other.closed().code == 1013
            assert not stopped.is_set()
            # The call in progress is not cut: it talks on.
            call.listen()
            call.reply()
            assert call.carrier.marks[-1] == "reply-2"
            call.send(call.carrier.stop())
            assert call.closed().code == 1000
        assert stopped.wait(2)
        assert client.get("/health").json()["slot"] == {
            "state": "draining",
            "call_id": None,
            "busy_since": None,
        }


def test_an_idle_worker_stops_at_once(settings: Settings) -> None:
    stopped = threading.Event()
    with TestClient(worker_app(settings, stop=stopped.set)) as client:
        begin_drain(client)
        assert stopped.wait(2)


class SwallowingRegistry(InMemorySlotRegistry):
    """A registry whose client swallows a cancellation that lands during a heartbeat, as the
    Redis client was seen to at a worker's stop."""

    def __init__(self) -> None:
        super().__init__(UtcClock())
        self.entered = asyncio.Event()

    async def heartbeat(self, slot: Slot, ttl: timedelta) -> None:
        self.entered.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            return


async def test_the_heartbeat_stops_when_cancelled_even_if_the_registry_swallows_it() -> None:
    registry = SwallowingRegistry()
    guard = SlotGuard("host", "w1", UtcClock())
    task = asyncio.create_task(report_slot(guard, registry, 0.01, 1.0, lambda _: None))
    await registry.entered.wait()
    task.cancel()
    # `asyncio.wait`: awaiting the task itself would pass a timeout's cancel on to it.
    await asyncio.wait({task}, timeout=1)
    assert task.cancelled()
