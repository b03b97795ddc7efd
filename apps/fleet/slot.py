"""This worker's call slot: claimed by one call at a time, reported to the slot registry.

The moves are the domain's (`voxcore_domain.slots`: claim, free, drain, beat); this module only
holds the current slot and tells the reporter when it changed, so the dialler sees a busy slot
within a round trip instead of a heartbeat later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from voxcore_domain import slots
from voxcore_domain.model import Slot, SlotState
from voxcore_domain.ports import Clock, WorkerSlots

log = logging.getLogger(__name__)


class SlotGuard:
    """The worker's one slot.

    `claim` is atomic: it never awaits, so on the worker's single event loop no other request
    can run between its check and its change; of two concurrent claims exactly one wins, and
    the other gets the domain's `InvalidTransition` (the routes answer 429).
    """

    def __init__(
        self, host: str, worker: str, clock: Clock, on_free: Callable[[], object] = lambda: None
    ) -> None:
        """`on_free` runs each time a call gives the slot up (the worker releases the memory
        the call freed)."""
        self._clock = clock
        self._on_free = on_free
        self._slot = Slot(host, worker, SlotState.IDLE, clock.now())
        self._changed = asyncio.Event()
        self._free = asyncio.Event()
        self._free.set()

    @property
    def slot(self) -> Slot:
        return self._slot

    @property
    def draining(self) -> bool:
        return self._slot.state is SlotState.DRAINING

    def claim(self, call_id: str) -> Slot:
        """Take the slot for `call_id`; `InvalidTransition` if it is busy or draining."""
        self._slot = slots.claim(self._slot, call_id, self._clock.now())
        self._free.clear()
        self._changed.set()
        return self._slot

    def free(self, call_id: str) -> None:
        """End `call_id`'s hold on the slot; a call that does not hold it changes nothing."""
        if self._slot.call_id != call_id:
            return
        self._slot = slots.free(self._slot, self._clock.now())
        self._free.set()
        self._changed.set()
        self._on_free()

    def drain(self) -> None:
        """Take no new call from now on; the call in progress runs to its end."""
        if not self.draining:
            self._slot = slots.drain(self._slot, self._clock.now())
            self._changed.set()

    async def wait_free(self) -> None:
        """Return once no call holds the slot."""
        await self._free.wait()

    def beat(self) -> Slot:
        """The slot with a fresh heartbeat, to report."""
        self._slot = slots.beat(self._slot, self._clock.now())
        return self._slot

    async def wait_changed(self, timeout_s: float) -> None:
        """Return when the slot changes, or after `timeout_s`."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._changed.wait()
        except TimeoutError:
            return
        finally:
            self._changed.clear()


async def report_slot(
    guard: SlotGuard,
    registry: WorkerSlots,
    interval_s: float,
    ttl_s: float,
    on_failure: Callable[[Exception], None],
) -> None:
    """Report the slot every `interval_s` and on every change, until cancelled; `on_failure`
    hears of each heartbeat the registry refused."""
    ttl = timedelta(seconds=ttl_s)
    while True:
        try:
            await registry.heartbeat(guard.beat(), ttl)
        except Exception as error:
            # Whatever the registry's failure (Redis down, a timeout), calls go on without it;
            # the next beat retries. The dialler meanwhile counts the slot stale: the safe side.
            log.warning("slot heartbeat failed: %r", error)
            on_failure(error)
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            # Cancelled during the heartbeat, and the registry returned anyway: redis-py's
            # write did so on Python 3.11 (seen at the drain in tests/fleet/test_granian.py)
            # before `connect` guarded it (`voxcore_adapters.redis.cancel_guard`); a registry
            # that still does must not keep the worker beating after its stop.
            raise asyncio.CancelledError
        await guard.wait_changed(interval_s)
