"""Two dialler processes contend for one shard; the holder is killed with SIGKILL (no chance to
release), the other takes over once the TTL runs out, and the dead holder's token is refused."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from voxcore_adapters.redis import RedisLeaderLock
from voxcore_domain.leadership import Leader, fenced_out

pytestmark = pytest.mark.integration

CONTENDER = Path(__file__).with_name("leader_contender.py")
TTL = timedelta(seconds=1)
RENEW_EVERY = TTL / 5
SHARD = "shard-0"


class Contender:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def line(self, within: float) -> str:
        """The next line the contender prints; TimeoutError if none comes `within` seconds."""
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), within)
        assert raw, f"contender exited with {await self.process.wait()}"
        return raw.decode().strip()


StartContender = Callable[[str], Awaitable[Contender]]


@pytest.fixture
async def start_contender(
    redis_server_url: str, redis_client: Redis
) -> AsyncIterator[StartContender]:
    started: list[asyncio.subprocess.Process] = []

    async def start(owner: str) -> Contender:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(CONTENDER),
            redis_server_url,
            SHARD,
            owner,
            str(TTL // timedelta(milliseconds=1)),
            stdout=asyncio.subprocess.PIPE,
        )
        started.append(process)
        contender = Contender(process)
        assert await contender.line(within=20) == "ready"
        return contender

    yield start
    for process in started:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def test_the_survivor_takes_over_after_the_ttl_and_the_dead_token_is_refused(
    start_contender: StartContender, redis_client: Redis
) -> None:
    first = await start_contender("dialler-a")
    assert await first.line(within=5) == "acquired 1"
    second = await start_contender("dialler-b")
    # While the holder lives and renews, the other gets nothing, over more than one TTL.
    with pytest.raises(TimeoutError):
        await second.line(within=1.5 * TTL.total_seconds())

    os.kill(first.process.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    assert await first.process.wait() == -signal.SIGKILL

    assert await second.line(within=TTL.total_seconds() + 2) == "acquired 2"
    waited = time.monotonic() - killed_at
    # The dead holder renewed at most RENEW_EVERY before it died, so its lease ran on for at
    # least TTL - RENEW_EVERY: the takeover waited for it rather than stealing the shard.
    assert waited >= (TTL - RENEW_EVERY).total_seconds() - 0.05

    # The dead holder's token, presented late (a paused process waking up), counts for nothing.
    lock = RedisLeaderLock(redis_client)
    assert not await lock.renew(SHARD, "dialler-a", 1, TTL)
    await lock.release(SHARD, "dialler-a", 1)
    assert await lock.holder(SHARD) == Leader("dialler-b", 2)
    assert fenced_out(1, newest_seen=2)
    # And the survivor keeps renewing its lease.
    with pytest.raises(TimeoutError):
        await second.line(within=TTL.total_seconds())
    assert await lock.holder(SHARD) == Leader("dialler-b", 2)
