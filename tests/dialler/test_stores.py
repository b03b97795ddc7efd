"""`StoreCalls`' outbox (writes kept while the store is down land in order, per key) and the
`WriteGate` a take-over passes through."""

from __future__ import annotations

import asyncio

import pytest

from apps.dialler.stores import StoreCalls, WriteGate
from voxcore_domain.errors import FencedOut, InvalidTransition, StaleLease


class Down(Exception):
    pass


class Store:
    def __init__(self) -> None:
        self.down = False
        self.made: list[str] = []

    def write(self, what: str) -> None:
        if self.down:
            raise Down(what)
        self.made.append(what)


async def test_kept_writes_land_in_order_and_later_ones_for_the_key_queue_behind() -> None:
    store = Store()
    calls = StoreCalls(unavailable=(Down,))
    store.down = True
    assert not await calls.write("k1", "a", lambda: store.write("k1:a"))
    store.down = False
    # k1 still has a kept write: this one queues behind it; k2 has none and goes now.
    assert not await calls.write("k1", "b", lambda: store.write("k1:b"))
    assert await calls.write("k2", "a", lambda: store.write("k2:a"))
    assert calls.buffered == 2
    assert store.made == ["k2:a"]

    assert await calls.flush() == 0
    assert store.made == ["k2:a", "k1:a", "k1:b"]
    assert await calls.write("k1", "c", lambda: store.write("k1:c"))


async def test_a_flush_stops_while_the_store_is_still_down_and_drops_refused_writes() -> None:
    store = Store()
    calls = StoreCalls(unavailable=(Down,))
    store.down = True
    await calls.write("k1", "a", lambda: store.write("k1:a"))
    assert await calls.flush() == 1

    def refused() -> None:
        if store.down:
            raise Down("k2")
        raise StaleLease("k2", "a newer leader of its shard has taken the contact over")

    await calls.write("k2", "stale", refused)  # kept: the store is down
    store.down = False
    assert await calls.flush() == 0
    assert store.made == ["k1:a"]


@pytest.mark.parametrize(
    "refusal",
    [
        StaleLease("k1", "a newer leader of its shard has taken the contact over"),
        InvalidTransition("contact", "ready", "answered"),
        FencedOut("0", 1, 2),
    ],
)
async def test_a_refused_kept_write_drops_the_writes_kept_after_it_for_its_key(
    refusal: Exception,
) -> None:
    """A call's task stops at its first refused write; its kept writes stop there too."""
    store = Store()
    calls = StoreCalls(unavailable=(Down,))
    store.down = True

    def outcome() -> None:
        if store.down:
            raise Down("outcome")
        raise refusal

    await calls.write("k1", "answer", lambda: store.write("k1:answer"))
    await calls.write("k1", "outcome", outcome)
    await calls.write("k2", "outcome", lambda: store.write("k2:outcome"))
    await calls.write("k1", "call log", lambda: store.write("k1:call log"))
    await calls.write("k2", "call log", lambda: store.write("k2:call log"))
    assert calls.buffered == 5
    store.down = False

    assert await calls.flush() == 0

    assert store.made == ["k1:answer", "k2:outcome", "k2:call log"]
    assert calls.buffered == 0
    # Nothing is kept for k1 any more: its next write goes to the store at once.
    assert await calls.write("k1", "release", lambda: store.write("k1:release"))
    assert store.made[-1] == "k1:release"


async def test_errors_that_are_not_unavailability_reach_the_caller() -> None:
    calls = StoreCalls(unavailable=(Down,))

    def broken() -> None:
        raise StaleLease("k1", "the contact is not leased")

    with pytest.raises(StaleLease):
        await calls.write("k1", "a", broken)
    assert calls.buffered == 0


async def test_the_gate_lets_a_take_over_in_only_between_writes() -> None:
    gate = WriteGate()
    order: list[str] = []
    release_write = asyncio.Event()

    async def write(name: str, hold: asyncio.Event | None = None) -> None:
        async with gate.shared():
            order.append(f"{name} in")
            if hold is not None:
                await hold.wait()
            order.append(f"{name} out")

    async def take_over() -> None:
        async with gate.exclusive():
            order.append("take-over")

    first = asyncio.create_task(write("w1", release_write))
    await asyncio.sleep(0)
    over = asyncio.create_task(take_over())
    await asyncio.sleep(0)
    later = asyncio.create_task(write("w2"))
    await asyncio.sleep(0)
    assert order == ["w1 in"]  # the take-over waits for w1; w2 waits for the take-over
    release_write.set()
    await asyncio.gather(first, over, later)
    assert order == ["w1 in", "w1 out", "take-over", "w2 in", "w2 out"]
