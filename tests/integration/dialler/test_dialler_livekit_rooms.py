"""End to end on LiveKit: the dialler as `apps.dialler.main.build` wires it for LiveKit
telephony dials through the LiveKit Twirp double, and hands the answered call to a real fleet
worker (Granian on a Unix socket) as its LiveKit room, with a join token signed by the
dialler's own key; the worker reports the call to the API (Granian) on the Mongo-wire and Redis
test servers.

**The one step that cannot succeed here** is the worker's WebRTC join of the room: it needs a
LiveKit server, and none can run on the test machine; the double has no signalling and turns
the join away (recording which room it asked for and with whose token). So the answered call
must end as such a call ends in production when its agent cannot join: abandoned (the callee
answered and never got the agent), with the reason, its room deleted (which drops the callee),
the worker's slot freed, the outcome reported through the API and applied to the contact by
its lease token, and the dialler done with it. Never hanging, never counted as talked.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from apps.dialler.main import build, run_loop
from apps.dialler.settings import Settings
from tests.api.support import daytime_zone
from tests.integration.dialler.conftest import TRUNK, Shop
from tests.integration.dialler.roles import (
    INTERNAL_TOKEN,
    Platform,
    api_server,
    fleet_worker,
    running,
    seed_campaign,
)
from tests.integration.dialler.test_dialler_end_to_end import counted
from voxcore_adapters.fakes import Callee
from voxcore_adapters.mongo import MongoCallLog, MongoContactLeases
from voxcore_adapters.mongo.call_reports import MongoCallReports
from voxcore_adapters.redis import RedisSlotRegistry
from voxcore_adapters.s3 import S3Connection
from voxcore_adapters.testing.asgi_server import url
from voxcore_adapters.testing.livekit_double import LiveKitDouble
from voxcore_domain.callevents import CallEventKind
from voxcore_domain.model import ContactState, Disposition, SlotState

pytestmark = pytest.mark.integration

TICK_S = 0.3
WORKER = "w1"
DIALLER_KEY = "APIdialler"
DIALLER_SECRET = "the-dialler-s-own-secret-long-enough-for-hs256"
ANSWERS = "+442079400001"
BUSY = "+442079400002"


@pytest.fixture
async def platform(
    shop: Shop,
    dialler_mongo_url: str,
    livekit: LiveKitDouble,
    s3: S3Connection,
    sockets: Path,
    tmp_path: Path,
) -> AsyncIterator[Platform]:
    """The API and one fleet worker with the LiveKit server (the double) and a key of its own:
    the worker's key ends rooms; the dialler's signs the join tokens."""
    api = api_server(shop, dialler_mongo_url, s3)
    api_url = url(api)
    worker = fleet_worker(
        WORKER,
        sockets / f"{WORKER}.sock",
        api_url,
        shop,
        s3,
        tmp_path / "spool",
        {
            "VOX_FLEET_LIVEKIT_URL": livekit.url,
            "VOX_FLEET_LIVEKIT_API_KEY": livekit.api_key,
            "VOX_FLEET_LIVEKIT_API_SECRET": livekit.api_secret,
            "VOX_FLEET_LIVEKIT_JOIN_WAIT_S": "5",
        },
    )
    async with running([api, worker]):
        yield Platform(api_url, sockets)


def seed(api_url: str) -> str:
    """A tenant, its agent, the double's trunk and a running campaign open now, with two
    contacts: one who answers, one busy. The campaign's id."""
    return seed_campaign(
        api_url,
        agent={"name": "Reminders", "greeting": "Hello from Acme.", "provider": "scripted"},
        trunk={
            "name": "LiveKit",
            "livekit_trunk_id": TRUNK,
            "caller_ids": ["+14155550100"],
            "cps": 50,
        },
        campaign={
            "name": "Rooms",
            "caller_id": "+14155550100",
            "timezone": daytime_zone(),
            "window": {"start": "10:00", "end": "14:00"},
            "pacing": {"mode": "progressive", "ring_timeout_s": 15},
        },
        rows=[{"phone": phone, "variables": {"name": "Ann"}} for phone in (ANSWERS, BUSY)],
    ).campaign_id


async def test_an_answered_livekit_call_reaches_the_worker_as_its_room_and_ends_honestly(
    shop: Shop, livekit: LiveKitDouble, platform: Platform, redis: Redis
) -> None:
    seed(platform.api_url)
    livekit.add_key(DIALLER_KEY, DIALLER_SECRET)
    livekit.script(ANSWERS, Callee.answering(after_s=0.3))
    livekit.script(BUSY, Callee.busy(after_s=0.2))
    settings = Settings(
        loop_interval_s=TICK_S,
        owner="lk-rooms",
        mongo_url=shop.mongo_url,
        redis_url=shop.redis_url,
        redis_prefix=shop.prefix,
        livekit_url=livekit.url,
        livekit_api_key=DIALLER_KEY,
        livekit_api_secret=DIALLER_SECRET,
        fleet_hosts={WORKER: f"unix:{platform.sockets}/{WORKER}.sock"},
        internal_token=INTERNAL_TOKEN,
        slot_staleness_s=5.0,
    )
    assert settings.telephony == "livekit"
    wired = build(settings)
    dialler = wired.dialler
    leases = MongoContactLeases(shop.db)
    slots = RedisSlotRegistry(redis, shop.prefix)

    async def settled() -> bool:
        stored = await asyncio.to_thread(leases.contacts)
        live = [s for s in await slots.slots() if s.host == WORKER]
        return (
            len(stored) == 2
            and all(c.last_disposition is not None and c.lease is None for c in stored)
            and dialler.in_flight == 0
            and len(live) == 1
            and live[0].state is SlotState.IDLE
        )

    loop = asyncio.get_running_loop().create_task(
        run_loop(dialler, TICK_S, lambda: datetime.now(UTC))
    )
    try:
        # Never hangs: the failed join ends the call within seconds.
        async with asyncio.timeout(45):
            while not await settled():
                await asyncio.sleep(0.2)
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop
        await dialler.close()
        for close in wired.closers:
            await close()
    assert dialler.failures == []

    by_phone = {c.phone: c for c in leases.contacts()}
    answered, busy = by_phone[ANSWERS], by_phone[BUSY]
    assert (busy.state, busy.last_disposition) == (ContactState.READY, Disposition.BUSY)
    # Abandoned, not talked and not lost: the retry policy keeps the number for the
    # abandon quarantine (72 h), then calls it again.
    assert (answered.state, answered.last_disposition, answered.attempts) == (
        ContactState.READY,
        Disposition.ABANDONED,
        1,
    )
    assert answered.next_attempt_at - datetime.now(UTC) > timedelta(hours=71)
    (attempt,) = MongoCallLog(shop.db).for_contact(answered.id)
    room = f"call-{attempt.id}"
    assert attempt.answered_at is not None
    assert attempt.attached_at is not None
    assert attempt.worker == WORKER
    assert attempt.disposition is Disposition.ABANDONED

    # Dialled by the dialler into the call's room, through the platform trunk's LiveKit trunk.
    dials = [
        call
        for call in livekit.calls_to("SIP/CreateSIPParticipant")
        if getattr(call.request, "sip_call_to", "") == ANSWERS
    ]
    assert len(dials) == 1
    assert getattr(dials[0].request, "room_name", None) == room
    assert getattr(dials[0].request, "sip_trunk_id", None) == TRUNK
    assert dials[0].claims is not None
    assert dials[0].claims["iss"] == DIALLER_KEY

    # The worker tried that room as the call's agent with the token the dialler signed (the
    # worker's own key is another), and the double turned it away: no WebRTC here.
    assert livekit.joins
    for join in livekit.joins:
        assert join.claims is not None, join.refusal
        assert join.claims["iss"] == DIALLER_KEY
        assert join.claims["sub"] == f"agent-{attempt.id}"
        assert join.claims["video"]["room"] == room
        assert join.claims["video"]["roomJoin"] is True

    # The worker ended the room it could not join (with its own key), so the callee was not
    # left in silence.
    deleted = [
        call
        for call in livekit.calls_to("RoomService/DeleteRoom")
        if getattr(call.request, "room", None) == room
    ]
    assert deleted
    assert deleted[0].status == 200
    assert deleted[0].claims is not None
    assert deleted[0].claims["iss"] == livekit.api_key
    assert room not in livekit.rooms

    # Reported by the worker through the API, once, fenced by the lease token.
    reports = MongoCallReports(shop.db).for_call(attempt.id)
    kinds = [r.event.kind for r in reports]
    assert kinds == [CallEventKind.ATTACHED, CallEventKind.ENDED]
    ended = reports[-1]
    assert ended.event.disposition is Disposition.ABANDONED
    assert ended.lease_token == attempt.lease_token
    assert "cannot join the LiveKit room" in str(ended.detail["reason"])
    assert counted(dialler, "vox_dialler_dials_total", outcome="attached") == 1
    # The worker abandoned it, not the dialler's own no-worker path.
    assert counted(dialler, "vox_dialler_dials_total", outcome="abandoned") == 0
