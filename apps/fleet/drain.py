"""Drain on SIGTERM: refuse new calls, finish the one in progress, then stop the worker.

Granian's own SIGTERM handling stops a worker at once and cuts its open WebSockets, that is,
the call in progress. So the worker takes SIGTERM over from Granian (on its event loop, where
Granian installed its handler) and, once the slot is free, raises SIGINT at itself: Granian's
handler for that signal is untouched, and it stops the worker the normal way, lifespan shutdown
included. systemd's `systemctl stop voxcore@<i>` sends SIGTERM; Granian's main process passes
it on to the worker and waits for it (`--workers-kill-timeout` unset), so a restart of the
workers one at a time never cuts a call.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Callable

from apps.fleet.slot import SlotGuard

log = logging.getLogger(__name__)


def stop_worker() -> None:
    """Ask Granian to stop this worker gracefully, as Ctrl-C would."""
    os.kill(os.getpid(), signal.SIGINT)


class Drain:
    """The worker's drain: `begin` on SIGTERM; `stop` runs once no call holds the slot."""

    def __init__(self, guard: SlotGuard, stop: Callable[[], None]) -> None:
        self._guard = guard
        self._stop = stop
        self._task: asyncio.Task[None] | None = None

    @property
    def begun(self) -> bool:
        return self._task is not None

    def begin(self) -> None:
        """Stop taking calls and stop the worker after the call in progress; a second SIGTERM
        (Granian's main process passes its own on) changes nothing."""
        if self._task is not None:
            return
        log.info("SIGTERM: draining, slot %s", self._guard.slot.state.value)
        self._guard.drain()
        self._task = asyncio.get_running_loop().create_task(self._finish())

    async def _finish(self) -> None:
        await self._guard.wait_free()
        log.info("drained: stopping the worker")
        self._stop()

    def install(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Handle SIGTERM on `loop`, if it runs in the main thread (where Granian runs the
        worker's loop); elsewhere, as under a test client's thread, signals cannot be handled
        and the caller drains by calling `begin`. Whether it was installed."""
        if threading.current_thread() is not threading.main_thread():
            return False
        loop.add_signal_handler(signal.SIGTERM, self.begin)
        return True

    def uninstall(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.remove_signal_handler(signal.SIGTERM)
