"""An aiohttp application served on loopback by an event loop of its own in a daemon thread.

The in-process test servers (the LiveKit double, the realtime fake) are driven from
synchronous test code and from the code under test's own event loop alike; a loop in a
separate thread serves them without either side having to be async.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from aiohttp import web

from voxcore_adapters.testing.process import LOOPBACK

T = TypeVar("T")


class LoopThread:
    """One aiohttp application on a free loopback port while started; `port` is 0 otherwise."""

    def __init__(self, name: str) -> None:
        self.name = name
        """The thread's name, as it shows in a traceback or a thread dump."""
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    def start(self, app: web.Application, **runner_options: Any) -> int:
        """Serve `app` (`runner_options` go to its `web.AppRunner`); returns the port."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind((LOOPBACK, 0))
        self.port = int(listener.getsockname()[1])
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name=self.name, daemon=True)
        self._thread.start()
        self.run(self._serve(app, listener, runner_options))
        return self.port

    async def _serve(
        self, app: web.Application, listener: socket.socket, runner_options: dict[str, Any]
    ) -> None:
        self._runner = web.AppRunner(app, **runner_options)
        await self._runner.setup()
        await web.SockSite(self._runner, listener).start()

    def url(self, scheme: str, path: str = "") -> str:
        """`scheme://127.0.0.1:<port><path>`; `RuntimeError` when not started."""
        if not self.port:
            raise RuntimeError(f"{self.name} is not started")
        return f"{scheme}://{LOOPBACK}:{self.port}{path}"

    def run(self, coroutine: Coroutine[Any, Any, T], timeout_s: float = 10) -> T:
        """Run `coroutine` on the server's loop and wait for its result."""
        loop = self._loop
        if loop is None:
            coroutine.close()
            raise RuntimeError(f"{self.name} is not started")
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=timeout_s)

    def stop(self) -> None:
        """Close the server (its open connections too), then the loop; a no-op when stopped."""
        loop = self._loop
        if loop is None:
            return
        if self._runner is not None:
            self.run(self._runner.cleanup(), timeout_s=15)
            self._runner = None
        self._loop = None
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None
        loop.close()
        self.port = 0
