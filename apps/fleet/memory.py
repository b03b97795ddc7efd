"""Giving the memory a finished call freed back to the system.

A call leaves the worker's heap fragmented: its buffers, and the first LiveKit room call's SDK
setup, are freed into glibc's malloc arenas, which keep the pages (on its own glibc gives back
only free memory at the top of a heap). Idle between calls, the worker would hold them for
good. `malloc_trim(0)` returns every whole free page of every arena
to the system (`docs/fleet.md`, "Memory after a LiveKit call", has the figures).

Elsewhere than glibc (musl, macOS) there is no `malloc_trim`, and the release does nothing.
A forced `gc.collect()` was tried too: it freed nothing measurable after a call and holds the
event loop for about 40 ms, so the release leaves Python's collector to its own schedule.
"""

from __future__ import annotations

import asyncio
import ctypes
from typing import Protocol

RELEASE_DELAY_S = 1.0
"""How long after its slot is freed a call's memory is released: by then the call's last
references (its task, its room's handles) are gone. A call taken within that second may see
the trim run on its loop (well under a millisecond here)."""


class Trimmer(Protocol):
    """What the release needs of the C library: glibc's `malloc_trim`."""

    def malloc_trim(self, pad: int, /) -> int: ...


def glibc() -> Trimmer | None:
    """This process's C library, when it is glibc (it has `malloc_trim`); None otherwise."""
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "malloc_trim"):
        return None
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    libc.malloc_trim.restype = ctypes.c_int
    return libc


LIBC = glibc()


def release_freed_memory(libc: Trimmer | None = LIBC) -> bool:
    """Give the freed heap back to the system with `malloc_trim(0)` on glibc (well under a
    millisecond here). Whether a trim ran (False without glibc: nothing to call)."""
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


def release_soon(delay_s: float = RELEASE_DELAY_S) -> asyncio.TimerHandle:
    """Release freed memory `delay_s` from now, on the running loop (a call's slot was just
    freed)."""
    return asyncio.get_running_loop().call_later(delay_s, release_freed_memory)
