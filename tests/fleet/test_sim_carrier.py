"""The simulated carrier's media path against a real worker: once the worker has taken a call
by `/attach`, the carrier finds it in the slot registry, streams the callee's side to its Unix
socket, and the call runs there to its end and is recorded in S3."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from tests.fleet import test_granian
from tests.fleet.test_granian import Worker, attach_body
from voxcore_adapters.fakes.media_fakes import Callee
from voxcore_adapters.redis import RedisSlotRegistry
from voxcore_adapters.s3 import S3Connection
from voxcore_adapters.s3.layout import call_prefix
from voxcore_adapters.sim import CalleeMedia, MediaTarget, SimTelephony
from voxcore_domain.ports import DialRequest
from voxcore_domain.simulation.callees import CalleeModel

pytestmark = pytest.mark.integration

# The real worker under Granian, its slot registry and Redis prefix, as test_granian starts them.
prefix = test_granian.prefix
start_worker = test_granian.start_worker
registry = test_granian.registry


async def test_an_answered_call_is_talked_through_on_the_worker_that_took_it(
    start_worker: Callable[[], Worker],
    registry: RedisSlotRegistry,
    s3_connection: S3Connection,
    bucket: str,
) -> None:
    worker = start_worker()
    media = CalleeMedia(registry, MediaTarget(f"unix:{worker.socket}"), wait_s=5.0)
    sim = SimTelephony(CalleeModel(answer_rate=1.0, mean_talk_s=6.0, talk_cv=0.0), media=media)
    sim.script("+14155550123", Callee.answering(after_s=0.1))
    request = DialRequest("call-sim-1", "ST_sim", "+14155550123", "+14155550000", 15.0, "room-1")

    result = await sim.place_call(request)
    assert result.answered_at is not None
    async with worker.http() as client:
        attached = await client.post("/attach", json=attach_body("call-sim-1"))
    assert attached.status_code == 202

    async with asyncio.timeout(30):
        while "call-sim-1" not in sim.ended:
            await asyncio.sleep(0.1)
    ended = sim.ended["call-sim-1"]
    assert ended in ("callee hung up", "worker closed the stream: 1000 call ended: completed")
    assert "call-sim-1" not in sim.live_calls
    # The bucket is made by the first upload, which follows the call's end.
    s3 = s3_connection.client()
    async with asyncio.timeout(10):
        while not (
            s3.bucket_exists(bucket)
            and list(
                s3.list_objects(
                    bucket, prefix=call_prefix("tenant-g", "call-sim-1"), recursive=True
                )
            )
        ):
            await asyncio.sleep(0.1)


async def test_hanging_up_an_answered_call_ends_its_stream(
    start_worker: Callable[[], Worker], registry: RedisSlotRegistry
) -> None:
    worker = start_worker()
    media = CalleeMedia(registry, MediaTarget(f"unix:{worker.socket}"), wait_s=5.0)
    sim = SimTelephony(CalleeModel(answer_rate=1.0, mean_talk_s=60.0, talk_cv=0.0), media=media)
    sim.script("+14155550123", Callee.answering())
    await sim.place_call(
        DialRequest("call-sim-2", "ST_sim", "+14155550123", "+14155550000", 15.0, "room-2")
    )
    async with worker.http() as client:
        assert (await client.post("/attach", json=attach_body("call-sim-2"))).status_code == 202
        await asyncio.sleep(1.0)
        assert (await client.get("/health")).json()["slot"]["state"] == "busy"

        await sim.hang_up("call-sim-2", "room-2")

        assert sim.ended["call-sim-2"] == "hung up by the platform"
        async with asyncio.timeout(10):
            while (await client.get("/health")).json()["slot"]["state"] != "idle":
                await asyncio.sleep(0.1)
