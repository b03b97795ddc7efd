"""Stopping a helper task without losing a cancellation of the task that stops it."""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel `task` and wait until it has ended. An error it ended with (before the cancel
    reached it, or while stopping) is raised; a cancellation of the caller while it waits is
    raised too, where `with suppress(CancelledError): await task` would take it for the task's
    own and drop it, leaving the caller running on after its cancel."""
    task.cancel()
    await asyncio.wait([task])
    if not task.cancelled():
        task.result()
