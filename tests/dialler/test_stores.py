"""`StoreCalls`' outbox: writes kept while the store is down land in order, per key."""

from __future__ import annotations

import pytest

from apps.dialler.stores import StoreCalls
from voxcore_domain.errors import StaleLease


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


async def test_errors_that_are_not_unavailability_reach_the_caller() -> None:
    calls = StoreCalls(unavailable=(Down,))

    def broken() -> None:
        raise StaleLease("k1", "the contact is not leased")

    with pytest.raises(StaleLease):
        await calls.write("k1", "a", broken)
    assert calls.buffered == 0
