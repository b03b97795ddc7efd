"""The dialler's side of the trunk limits: each dial waits for its trunk's calls-per-second token
and its outcome feeds the trunk's back-off and breaker. The rules are the domain's
(`voxcore_domain.trunklimits`); this only keeps the state between ticks and dials.

`TrunkGuard` wraps the `Telephony` port, so every dial goes through it whichever code path
places it. The dial task waits for its token first (`admit`), then renews the leader lock,
records the attempt and starts the ring clock: the wait (about one tick at most, longer when
shards share a trunk) is neither ring time nor time a leader lock must outlast.

The planning state is this process's: with several shards, each shard's leader plans as if the
trunk were its own. With a shared `RateLimiter` (Redis in production), every dial also takes the
trunk's token from one bucket shared by all diallers, so the trunk's calls per second hold across
shards too (dials of two busy shards then wait longer than a tick). Channels are counted across
processes by the dialler itself (`TrunkChannels`), not here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping

import attrs

from voxcore_domain.ports import (
    Clock,
    DialRequest,
    DialResult,
    RateLimiter,
    Telephony,
    TelephonyError,
    TelephonyRefused,
    TrunkThrottled,
)
from voxcore_domain.trunklimits import (
    BreakerPolicy,
    Circuit,
    TrunkLoad,
    TrunkState,
    bucket_of,
    carrier_failed,
)
from voxcore_domain.trunks import Trunk


class TrunkGuard:
    """`Telephony` that keeps each trunk's limits; also what the tick reads them from."""

    def __init__(
        self,
        inner: Telephony,
        clock: Clock,
        policy: BreakerPolicy | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        shared: RateLimiter | None = None,
    ) -> None:
        self._inner = inner
        self._shared = shared
        self._clock = clock
        self.policy = policy or BreakerPolicy()
        self._sleep = sleep
        self._trunks: dict[str, Trunk] = {}
        self.states: dict[str, TrunkState] = {}
        self._admitted: set[str] = set()

    def update(self, trunks: Iterable[Trunk]) -> None:
        """The trunks as the store has them now (their limits may have been edited)."""
        for trunk in trunks:
            self._trunks[trunk.id] = trunk

    def trunk(self, trunk_id: str) -> Trunk | None:
        """The trunk's limits as last read; None if unknown."""
        return self._trunks.get(trunk_id)

    def known(self) -> list[str]:
        """Every trunk whose limits are known."""
        return sorted(self._trunks)

    def loads(self, in_use: Mapping[str, int]) -> dict[str, TrunkLoad]:
        """Every known trunk, with its calls in progress, as the planner takes it."""
        return {
            key: TrunkLoad(
                trunk, self.states.get(key, TrunkState()), in_use.get(key, 0), self.policy
            )
            for key, trunk in self._trunks.items()
        }

    async def admit(self, call_id: str, trunk_id: str) -> None:
        """Wait for the trunk's calls-per-second token for the dial `call_id`; its `place_call`
        then goes out at once. `forget` it if the dial is not placed after all."""
        await self._wait_turn(trunk_id)
        self._admitted.add(call_id)

    def forget(self, call_id: str) -> None:
        """The dial `call_id` is over, placed or not: its admission is spent."""
        self._admitted.discard(call_id)

    async def _wait_turn(self, key: str) -> None:
        now = self._clock.now().timestamp()
        # A trunk whose limits are unknown (no trunk store) still backs off and breaks.
        start, self.states[key] = self._state(key).reserve(self._trunks.get(key), now)
        if start > now:
            await self._sleep(start - now)
        trunk = self._trunks.get(key)
        if trunk is not None and self._shared is not None:
            await self._shared_token(self._shared, trunk)

    async def place_call(self, request: DialRequest) -> DialResult:
        key = request.trunk_id
        if request.call_id in self._admitted:
            self._admitted.discard(request.call_id)
        else:
            await self._wait_turn(key)
        trunk = self._trunks.get(key)
        if trunk is not None:
            # Campaigns name the platform's trunk; the provider knows it by its own id.
            request = attrs.evolve(request, trunk_id=trunk.livekit_trunk_id)
        try:
            result = await self._inner.place_call(request)
        except TrunkThrottled as throttled:
            at = self._clock.now().timestamp()
            self.states[key] = self._state(key).throttled(at, throttled.retry_after_s)
            raise
        except TelephonyRefused:
            # Our credentials or configuration: an operator's problem, not the carrier failing.
            raise
        except TelephonyError:
            self._failed(key)
            raise
        if result.answered_at is None and carrier_failed(result.sip_status):
            self._failed(key)
        else:
            self.states[key] = self._state(key).succeeded()
        return result

    async def hang_up(self, call_id: str, room: str) -> None:
        await self._inner.hang_up(call_id, room)

    def available(self, trunk_id: str, now: float) -> int | None:
        """For a trunk whose limits are unknown: 0 while it is stopped, 1 for its probe, else
        None (no limit known)."""
        state = self._state(trunk_id)
        if state.stopped(now, self.policy):
            return 0
        return 1 if state.circuit(now) is Circuit.HALF_OPEN else None

    async def _shared_token(self, shared: RateLimiter, trunk: Trunk) -> None:
        """The trunk's token from the bucket every dialler shares; while other shards have
        taken them, wait for the next."""
        bucket = bucket_of(trunk)
        while True:
            admission = await shared.take(f"trunk:{trunk.id}", bucket)
            if admission.allowed:
                return
            await self._sleep(admission.retry_after.total_seconds())

    def _state(self, trunk_id: str) -> TrunkState:
        return self.states.get(trunk_id, TrunkState())

    def _failed(self, trunk_id: str) -> None:
        at = self._clock.now().timestamp()
        self.states[trunk_id] = self._state(trunk_id).failed(at, self.policy)
