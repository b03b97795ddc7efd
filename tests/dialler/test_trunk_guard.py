"""`TrunkGuard`: dials wait for their trunk's token, locally and in the bucket all shards share."""

from __future__ import annotations

from datetime import datetime, timedelta

from apps.dialler.trunk_guard import TrunkGuard
from voxcore_adapters.fakes import FakeTelephony, InMemoryRateLimiter, ManualClock
from voxcore_domain.ports import DialRequest, DialResult
from voxcore_domain.trunks import Trunk

TRUNK = Trunk("tr1", "t1", "Main", "ST_1", cps=1.0)


class Recording(FakeTelephony):
    """Notes when each dial reached the provider."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock=clock)
        self.clock = clock
        self.at: list[datetime] = []

    async def place_call(self, request: DialRequest) -> DialResult:
        self.at.append(self.clock.now())
        return await super().place_call(request)


def request(n: int) -> DialRequest:
    return DialRequest(f"call-{n}", "tr1", "+442071234567", "+442071234500", 25.0, f"room-{n}")


async def test_two_shards_on_one_trunk_share_its_calls_per_second() -> None:
    clock = ManualClock()

    async def sleep(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))

    shared = InMemoryRateLimiter(clock)
    telephony = Recording(clock)
    guards = [TrunkGuard(telephony, clock, sleep=sleep, shared=shared) for _ in range(2)]
    for guard in guards:
        guard.update([TRUNK])

    for n in range(6):
        # Alternate shards, each with a full bucket of its own: only the shared one holds them.
        await guards[n % 2].place_call(request(n))

    gaps = [(b - a).total_seconds() for a, b in zip(telephony.at, telephony.at[1:], strict=False)]
    assert len(telephony.at) == 6
    assert all(gap >= 1.0 - 1e-6 for gap in gaps)


async def test_without_a_shared_bucket_each_guard_keeps_only_its_own() -> None:
    clock = ManualClock()

    async def sleep(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))

    telephony = Recording(clock)
    guards = [TrunkGuard(telephony, clock, sleep=sleep) for _ in range(2)]
    for guard in guards:
        guard.update([TRUNK])
    await guards[0].place_call(request(0))
    await guards[1].place_call(request(1))
    assert telephony.at[0] == telephony.at[1]


async def test_the_provider_is_asked_for_the_trunks_own_id() -> None:
    clock = ManualClock()
    seen: list[str] = []

    class Noting(FakeTelephony):
        async def place_call(self, request: DialRequest) -> DialResult:
            seen.append(request.trunk_id)
            return await super().place_call(request)

    guard = TrunkGuard(Noting(clock=clock), clock)
    await guard.place_call(request(1))
    guard.update([TRUNK])
    await guard.place_call(request(2))
    # Unknown to the store: passed on as named; known: the provider's `ST_…` id.
    assert seen == ["tr1", "ST_1"]
