"""`cancel_and_wait`: the stopped task's end stays its own; the caller's cancel goes on."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from voxcore_adapters.tasks import cancel_and_wait


async def test_a_task_that_stops_on_its_cancel_is_waited_for() -> None:
    task = asyncio.create_task(asyncio.sleep(3600))
    await asyncio.sleep(0)
    await cancel_and_wait(task)
    assert task.cancelled()


async def test_the_error_a_task_stops_with_is_raised() -> None:
    async def failing_on_cancel() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise RuntimeError("cleanup failed") from None

    task = asyncio.create_task(failing_on_cancel())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="cleanup failed"):
        await cancel_and_wait(task)


async def test_a_task_already_over_is_fine() -> None:
    task = asyncio.create_task(asyncio.sleep(0, "done"))
    await asyncio.wait([task])
    await cancel_and_wait(task)
    assert task.result() == "done"


async def slow_to_stop(stopping: asyncio.Event) -> None:
    """A helper whose clean-up takes a while, like a Redis call in flight."""
    try:
        await asyncio.sleep(3600)
    finally:
        stopping.set()
        await asyncio.sleep(0.2)


async def test_a_cancel_of_the_caller_while_it_waits_goes_on() -> None:
    stopping = asyncio.Event()

    async def owner() -> str:
        helper = asyncio.create_task(slow_to_stop(stopping))
        await asyncio.sleep(0)
        await cancel_and_wait(helper)
        return "ran on after its cancel"

    task = asyncio.create_task(owner())
    await stopping.wait()
    task.cancel()
    await asyncio.wait([task], timeout=1)
    assert task.cancelled()


async def test_the_pattern_it_replaces_loses_that_cancel() -> None:
    """Why the helper exists: the suppressing form returns normally."""
    stopping = asyncio.Event()

    async def owner() -> str:
        helper = asyncio.create_task(slow_to_stop(stopping))
        await asyncio.sleep(0)
        helper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await helper
        return "ran on after its cancel"

    task = asyncio.create_task(owner())
    await stopping.wait()
    task.cancel()
    await asyncio.wait([task], timeout=1)
    assert task.result() == "ran on after its cancel"
