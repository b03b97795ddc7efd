"""The `PauseSwitch` contract, on the in-memory fake and on Redis."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from voxcore_adapters.fakes import InMemoryPauseSwitch
from voxcore_adapters.redis import RedisPauseSwitch
from voxcore_domain.errors import ValidationError

pytestmark = pytest.mark.integration

Switch = InMemoryPauseSwitch | RedisPauseSwitch


@pytest.fixture
def switch(backend: str, redis_client: Redis) -> Switch:
    return InMemoryPauseSwitch() if backend == "fake" else RedisPauseSwitch(redis_client, "t")


async def test_dialling_is_on_until_someone_pauses(switch: Switch) -> None:
    assert await switch.paused() is False


async def test_pause_and_resume(switch: Switch) -> None:
    await switch.set_paused(True)
    assert await switch.paused() is True
    await switch.set_paused(True)
    assert await switch.paused() is True
    await switch.set_paused(False)
    assert await switch.paused() is False


async def test_only_a_bool_is_taken(switch: Switch) -> None:
    with pytest.raises(ValidationError) as error:
        await switch.set_paused("yes")  # type: ignore[arg-type]
    assert error.value.field == "paused"
    assert await switch.paused() is False


async def test_every_dialler_sees_the_same_switch(redis_client: Redis) -> None:
    one, other = RedisPauseSwitch(redis_client, "t"), RedisPauseSwitch(redis_client, "t")
    await one.set_paused(True)
    assert await other.paused() is True
    assert await RedisPauseSwitch(redis_client, "elsewhere").paused() is False
