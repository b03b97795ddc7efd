"""A dialler stand-in for the two-process leader lock test; run as a script, never imported.

`python leader_contender.py URL SHARD OWNER TTL_MS` contends for SHARD as OWNER forever: it
tries to acquire, and once it holds the shard renews every TTL/5. It prints `ready` once, then
`acquired <token>` and `lost <token>` lines as they happen, flushed at once so the test reads
them live.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

from voxcore_adapters.redis import RedisLeaderLock, connect


async def contend(url: str, shard: str, owner: str, ttl: timedelta) -> None:
    client = connect(url)
    lock = RedisLeaderLock(client)
    token: int | None = None
    print("ready", flush=True)
    while True:
        if token is None:
            token = await lock.acquire(shard, owner, ttl)
            if token is not None:
                print(f"acquired {token}", flush=True)
        elif not await lock.renew(shard, owner, token, ttl):
            print(f"lost {token}", flush=True)
            token = None
        await asyncio.sleep(ttl.total_seconds() / 5)


if __name__ == "__main__":
    url, shard, owner, ttl_ms = sys.argv[1:5]
    asyncio.run(contend(url, shard, owner, timedelta(milliseconds=int(ttl_ms))))
