"""The in-memory and the Redis leader lock, driven side by side through the same steps.

Time: the fake runs on a manual clock that jumps by seconds; Redis runs on its own clock with
the same TTLs (5 s and up), which do not lapse by themselves within an example (well under a
second). When a jump of the manual clock lapses a holder in the fake, the test expires the same
key in Redis (PEXPIRE 1 ms, then waits for it), so both see the same lapses and nothing else.
Everything else — who gets a shard, which token, which renew or release counts — each decides
on its own, and they must agree step by step.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Iterator
from datetime import timedelta
from typing import ClassVar, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from redis.asyncio import Redis

from voxcore_adapters.fakes.redis_fakes import InMemoryLeaderLock, ManualClock
from voxcore_adapters.redis import RedisLeaderLock, connect
from voxcore_adapters.redis.keys import DEFAULT_PREFIX
from voxcore_adapters.redis.leader import lock_key

pytestmark = pytest.mark.integration

T = TypeVar("T")

SHARDS = ("shard-0", "shard-1")
OWNERS = ("dialler-a", "dialler-b", "dialler-c")
shards = st.sampled_from(SHARDS)
owners = st.sampled_from(OWNERS)
ttls = st.integers(5, 60).map(lambda seconds: timedelta(seconds=seconds))
# Tokens are handed out densely from 1, so small numbers cover stale, current and future ones.
tokens = st.integers(0, 12)


class LeaderLocksAgree(RuleBasedStateMachine):
    runner: ClassVar[asyncio.Runner]
    client: ClassVar[Redis]

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.fake = InMemoryLeaderLock(self.clock)
        self.real = RedisLeaderLock(self.client)
        self.run(self.client.flushdb())
        self.issued: dict[str, list[tuple[str, int]]] = {shard: [] for shard in SHARDS}
        """Per shard, every (owner, token) an acquire returned, in order."""

    def run(self, step: Awaitable[T]) -> T:
        async def wait() -> T:
            return await step

        return self.runner.run(wait())

    def latest(self, shard: str) -> tuple[str, int] | None:
        issued = self.issued[shard]
        return issued[-1] if issued else None

    @rule(shard=shards, owner=owners, ttl=ttls)
    def acquire(self, shard: str, owner: str, ttl: timedelta) -> None:
        expected = self.run(self.fake.acquire(shard, owner, ttl))
        got = self.run(self.real.acquire(shard, owner, ttl))
        assert got == expected
        if got is not None:
            assert all(got > earlier for _, earlier in self.issued[shard])
            self.issued[shard].append((owner, got))

    @rule(shard=shards, owner=owners, token=tokens, ttl=ttls)
    def renew(self, shard: str, owner: str, token: int, ttl: timedelta) -> None:
        expected = self.run(self.fake.renew(shard, owner, token, ttl))
        got = self.run(self.real.renew(shard, owner, token, ttl))
        assert got == expected
        if got:
            assert self.latest(shard) == (owner, token), "only the newest holder renews"

    @rule(shard=shards, ttl=ttls)
    def renew_as_newest_holder(self, shard: str, ttl: timedelta) -> None:
        # The path a live dialler takes every few seconds: random tokens rarely hit it.
        newest = self.latest(shard)
        if newest is not None:
            owner, token = newest
            renewed = self.run(self.fake.renew(shard, owner, token, ttl))
            assert self.run(self.real.renew(shard, owner, token, ttl)) == renewed

    @rule(shard=shards, owner=owners, token=tokens)
    def release(self, shard: str, owner: str, token: int) -> None:
        self.run(self.fake.release(shard, owner, token))
        self.run(self.real.release(shard, owner, token))

    @rule(shard=shards)
    def release_as_newest_holder(self, shard: str) -> None:
        newest = self.latest(shard)
        if newest is not None:
            self.run(self.fake.release(shard, *newest))
            self.run(self.real.release(shard, *newest))

    @rule(seconds=st.integers(1, 90))
    def time_passes(self, seconds: int) -> None:
        live_before = {shard for shard in SHARDS if self.run(self.fake.holder(shard))}
        self.clock.advance(timedelta(seconds=seconds))
        lapsed = [shard for shard in live_before if self.run(self.fake.holder(shard)) is None]
        for shard in lapsed:
            self.run(self.client.pexpire(lock_key(DEFAULT_PREFIX, shard), 1))
        if lapsed:
            # Past the 1 ms, so Redis treats the keys as expired from the next command on.
            time.sleep(0.003)

    @invariant()
    def both_see_the_same_holder_and_it_has_the_newest_token(self) -> None:
        for shard in SHARDS:
            holder = self.run(self.fake.holder(shard))
            assert self.run(self.real.holder(shard)) == holder
            if holder is not None:
                assert (holder.owner, holder.token) == self.latest(shard)


@pytest.fixture
def machine_redis(redis_server_url: str) -> Iterator[tuple[asyncio.Runner, Redis]]:
    with asyncio.Runner() as runner:
        client = connect(redis_server_url)
        yield runner, client
        runner.run(client.aclose())


def test_fake_and_redis_leader_locks_agree(machine_redis: tuple[asyncio.Runner, Redis]) -> None:
    LeaderLocksAgree.runner, LeaderLocksAgree.client = machine_redis
    run_state_machine_as_test(
        LeaderLocksAgree,
        settings=settings(
            max_examples=60,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
