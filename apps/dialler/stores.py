"""How the dialler calls its synchronous stores from the event loop, and what it does while they
are down.

`StoreCalls.run` calls a store method either in a worker thread (`asyncio.to_thread`: pymongo
blocks for a round trip, and a tick or a dial must not stall every other call's task meanwhile)
or inline on the loop. The in-memory fakes are not thread-safe, so they are always called inline
(`offload=False`, the default); the MongoDB stores are thread-safe and `main.build` offloads them.

`StoreCalls.write` is for the writes a call in progress makes (advance, complete, undial,
release, the call log). When the store is unreachable (an exception in `unavailable`, e.g.
pymongo's `ConnectionFailure`), the write is kept in an outbox and the next `flush` (each tick)
retries it, oldest first; a later write for the same key queues behind it, so a contact's writes
land in the order they were made. Each write carries the instant it was made as its `now`, so a
write that lands late is fenced and scheduled as of when it happened. A kept write the store
refuses drops every later one kept for its key: a call's task stops at its first refused write,
and its kept writes stop there too (a replaced leader writes nothing more for the call).

`WriteGate` lets a new leader's take-over stamp the shard's contacts while no write is in flight,
so every write after it reads the re-stamped lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

import attrs

from voxcore_domain.errors import FencedOut, InvalidTransition, StaleLease

log = logging.getLogger(__name__)

T = TypeVar("T")


@attrs.frozen
class PendingWrite:
    key: str
    """What the write is about (a contact or call id): writes with one key keep their order."""
    what: str
    """For logs: the write and its subject."""
    run: Callable[[], object]


class StoreCalls:
    def __init__(
        self,
        *,
        offload: bool = False,
        unavailable: tuple[type[BaseException], ...] = (),
    ) -> None:
        self.offload = offload
        self.unavailable = unavailable
        """Exceptions that mean the store cannot be reached now (not that the write is wrong)."""
        self._outbox: deque[PendingWrite] = deque()
        self._pending: Counter[str] = Counter()

    async def run(self, call: Callable[[], T]) -> T:
        if self.offload:
            return await asyncio.to_thread(call)
        return call()

    @property
    def buffered(self) -> int:
        """Writes waiting for the store to come back."""
        return len(self._outbox)

    async def write(self, key: str, what: str, call: Callable[[], object]) -> bool:
        """Make the write now, or keep it for `flush` if the store is down or earlier writes for
        `key` are still waiting; whether it was made now. Errors other than unavailability
        (e.g. `StaleLease`) are raised to the caller, as from the store itself."""
        if self._pending[key]:
            self._keep(PendingWrite(key, what, call))
            return False
        try:
            await self.run(call)
        except self.unavailable as error:
            log.warning("store unavailable (%s); keeping %s for later", error, what)
            self._keep(PendingWrite(key, what, call))
            return False
        return True

    def _keep(self, write: PendingWrite) -> None:
        self._outbox.append(write)
        self._pending[write.key] += 1

    async def flush(self) -> int:
        """Make the kept writes, oldest first, until the store fails again; how many are left.

        A kept write the store now refuses (`StaleLease`: a newer leader or the API closed the
        contact meanwhile; `InvalidTransition`; `FencedOut`: a newer leader has taken the shard
        over) is dropped with every later write kept for its key, as the call's task itself
        stops at a refused write: the contact's holder decides now. Without that, a refused
        outcome would be followed by its call-log record, written by a replaced leader."""
        while self._outbox:
            write = self._outbox[0]
            try:
                await self.run(write.run)
            except self.unavailable:
                return len(self._outbox)
            except (StaleLease, InvalidTransition, FencedOut) as refused:
                dropped = self._drop(write.key)
                log.warning(
                    "dropping the kept %s and %d later kept writes of %s: %s",
                    write.what,
                    dropped - 1,
                    write.key,
                    refused,
                )
                continue
            self._outbox.popleft()
            self._pending[write.key] -= 1
        return 0

    def _drop(self, key: str) -> int:
        """Forget every write kept for `key`; how many there were."""
        kept = len(self._outbox)
        self._outbox = deque(write for write in self._outbox if write.key != key)
        del self._pending[key]
        return kept - len(self._outbox)


class WriteGate:
    """Many writes at once (`shared`), or one take-over with no write in flight (`exclusive`)."""

    def __init__(self) -> None:
        self._open = asyncio.Event()
        self._open.set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._busy = 0

    @contextlib.asynccontextmanager
    async def shared(self) -> AsyncIterator[None]:
        await self._open.wait()
        self._busy += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._busy -= 1
            if self._busy == 0:
                self._idle.set()

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        self._open.clear()
        try:
            await self._idle.wait()
            yield
        finally:
            self._open.set()
