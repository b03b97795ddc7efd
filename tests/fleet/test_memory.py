"""The worker gives freed memory back to the system once it has started and after each call
(`apps.fleet.memory`). What a release saves is measured by `make bench-fleet`; these tests check
the wiring: what is called, when, and that it is harmless without glibc."""

from __future__ import annotations

import asyncio
import platform

import attrs
import pytest
from litestar.testing import TestClient

from apps.fleet import memory
from apps.fleet.deps import Deps
from apps.fleet.settings import Settings
from apps.fleet.slot import SlotGuard
from tests.fleet.support import PARAMETERS, CarrierOnSocket, wait_idle, worker_app
from voxcore_adapters.clock import UtcClock
from voxcore_adapters.testing.carrier import TwilioCarrier


class RecordingLibc:
    """A C library that records its `malloc_trim` calls."""

    def __init__(self) -> None:
        self.trims: list[int] = []

    def malloc_trim(self, pad: int, /) -> int:
        self.trims.append(pad)
        return 1


def test_a_release_trims_every_arena() -> None:
    libc = RecordingLibc()
    assert memory.release_freed_memory(libc) is True
    assert libc.trims == [0]


def test_without_glibc_a_release_does_nothing() -> None:
    assert memory.release_freed_memory(None) is False


def test_the_c_library_is_found_exactly_on_glibc() -> None:
    on_glibc = platform.libc_ver()[0] == "glibc"
    libc = memory.glibc()
    assert (libc is not None) == on_glibc
    assert (memory.LIBC is not None) == on_glibc
    if libc is not None:
        # A real trim: 1 if it gave memory back, 0 if there was none to give.
        assert libc.malloc_trim(0) in (0, 1)


async def test_a_release_is_scheduled_on_the_running_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    released = asyncio.Event()
    monkeypatch.setattr(memory, "release_freed_memory", released.set)
    loop = asyncio.get_running_loop()
    handle = memory.release_soon(0.05)
    assert handle.when() - loop.time() == pytest.approx(0.05, abs=0.04)
    assert not released.is_set()
    await asyncio.wait_for(released.wait(), 5)


def test_the_slot_guard_calls_its_hook_when_the_call_holding_it_frees_it() -> None:
    freed: list[str] = []
    guard = SlotGuard("host", "w1", UtcClock(), lambda: freed.append(guard.slot.state.value))
    guard.claim("call-1")
    assert freed == []
    guard.free("call-2")  # not the call holding the slot: nothing changes
    assert freed == []
    guard.free("call-1")
    assert freed == ["idle"]


def test_the_worker_releases_memory_once_started_and_after_each_call(settings: Settings) -> None:
    releases: list[str] = []
    app = worker_app(settings, release_memory=lambda: releases.append("release"))
    assert releases == []
    with TestClient(app) as client:
        assert releases == ["release"]
        with client.websocket_connect("/media/twilio") as ws:
            call = CarrierOnSocket(ws, TwilioCarrier(PARAMETERS))
            call.answer()
            assert releases == ["release"]
            call.send(call.carrier.stop())
            assert call.closed().code == 1000
        assert wait_idle(client)
        assert releases == ["release", "release"]


def test_a_worker_built_from_its_settings_releases_memory_soon_after() -> None:
    assert attrs.fields(Deps).release_memory.default is memory.release_soon
