"""The platform-wide dial pause in Redis (`PauseSwitch`): one key, `vox:dialler:paused`, set to
`1` while paused and absent otherwise, so every dialler of every shard sees the same switch.

Operators flip it with `python -m apps.dialler.pause on|off` (or `SET vox:dialler:paused 1`).
"""

from __future__ import annotations

from redis.asyncio import Redis

from voxcore_adapters.redis.keys import DEFAULT_PREFIX
from voxcore_domain.errors import ValidationError


def pause_key(prefix: str) -> str:
    return f"{prefix}:dialler:paused"


class RedisPauseSwitch:
    def __init__(self, client: Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self._client = client
        self._key = pause_key(prefix)

    async def paused(self) -> bool:
        return bool(await self._client.exists(self._key))

    async def set_paused(self, paused: bool) -> None:
        if not isinstance(paused, bool):
            raise ValidationError("paused", f"must be true or false, got {paused!r}")
        if paused:
            await self._client.set(self._key, "1")
        else:
            await self._client.delete(self._key)
