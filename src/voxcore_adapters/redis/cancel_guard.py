"""Connections that give a cancellation back when redis-py's write lost it.

redis-py's asyncio client writes every command through `asyncio.wait_for(..., socket_timeout)`
(`AbstractConnection.send_packed_command`; `socket_timeout` defaults to 5 s since redis-py 6).
On Python 3.11, `wait_for` returns the inner result instead of raising `CancelledError` when the
caller is cancelled in the same loop turn as the write completes (CPython gh-86296, fixed by the
3.12 rewrite of `wait_for` on `asyncio.timeout`). A local write completes at once, so the window
is wide: a task cancelled while polling `RedisSlotRegistry.slots()` went on polling in about
seven cancels out of ten (`tests/integration/redis/test_redis_cancel_guard.py`), which is how
the simulated carrier's hang-up once waited ~18 s for a callee's stream, and how a fleet worker's
heartbeat once ran on through its stop.

The guard notices the lost request (the task's `cancelling()` count rose during the write, yet
the write returned) and raises it, after dropping the connection: the command is on the wire but
its reply will not be read, as redis-py does itself for a cancel that lands during the read.
A request asyncio's own `timeout` made is handled by it as usual (it becomes `TimeoutError`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from redis.asyncio.connection import (
    AbstractConnection,
    Connection,
    ConnectionPool,
    SSLConnection,
    UnixDomainSocketConnection,
)


class _CancelGuard(AbstractConnection):
    """Raises a cancellation that arrived during a command's write and was not delivered."""

    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        task = asyncio.current_task()
        asked = 0 if task is None else task.cancelling()
        await super().send_packed_command(command, check_health)
        if task is not None and task.cancelling() > asked:
            await self.disconnect(nowait=True)
            raise asyncio.CancelledError


class GuardedConnection(_CancelGuard, Connection):
    """TCP (`redis://`)."""


class GuardedSSLConnection(_CancelGuard, SSLConnection):
    """TLS (`rediss://`)."""


class GuardedUnixConnection(_CancelGuard, UnixDomainSocketConnection):
    """Unix socket (`unix://`)."""


_GUARDED: dict[type[AbstractConnection], type[AbstractConnection]] = {
    Connection: GuardedConnection,
    SSLConnection: GuardedSSLConnection,
    UnixDomainSocketConnection: GuardedUnixConnection,
}


def guard(pool: ConnectionPool) -> None:
    """Make the connections `pool` opens from now on guarded ones (call it before the first
    command). A pool built on a connection class of its own is refused: its writes are not
    known to be safe."""
    current = pool.connection_class
    if issubclass(current, _CancelGuard):
        return
    guarded = _GUARDED.get(current)
    if guarded is None:
        raise TypeError(f"no cancel guard for the connection class {current.__name__}")
    pool.connection_class = guarded
