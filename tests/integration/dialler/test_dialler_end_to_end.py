"""End to end, every role real: the dialler's own loop (`apps.dialler.main.run_loop`, in this
process, on its real adapters: MongoDB leases, campaigns and call log off the loop, Redis leader
lock, slot registry, pause switch and trunk rate limiter, the HTTP fleet client) dials scripted
callees; answered calls go by `POST /attach` to fleet workers served by Granian on Unix sockets,
which talk them through and report each call to the API (Granian, `POST
/v1/internal/call-events`) on the Mongo-wire and Redis test servers; the API records the outcome
and closes the contact by its lease token; the dialler follows its calls through the slot
registry and the call log. Tenant, agent, trunk, campaign and contacts are made through the API.

The carrier is the simulated one (`voxcore_adapters.sim`), not the LiveKit double: workers need
each answered call's audio, and the double plays SIP signalling only. The simulated carrier
answers dials exactly as the LiveKit adapter does (the same `DialResult`s and errors: the
telephony contract tests run both) and streams the callee's side to the worker that took the
call as a carrier media stream. The dialler against the LiveKit double is tested in
`test_dialler_failover.py` and the LiveKit contract tests.

One fleet host (`gone`) died after its last heartbeat: its slots still look idle until they go
stale, so the dialler dials for them, and calls answered while both live workers are busy find
no worker within the attach budget: the abandon path, where the simulated callee hears the
campaign's abandon message before the dialler hangs up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pymongo.errors import ConnectionFailure
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from apps.dialler.abandon import OffLoopTones
from apps.dialler.loop import Dialler
from apps.dialler.main import run_loop
from apps.dialler.stores import StoreCalls
from tests.api.support import daytime_zone
from tests.integration.dialler.conftest import Shop
from tests.integration.dialler.roles import (
    INTERNAL_TOKEN,
    Platform,
    Seeded,
    api_server,
    fleet_worker,
    running,
    seed_campaign,
)
from voxcore_adapters.clock import UtcClock
from voxcore_adapters.fakes import Callee
from voxcore_adapters.fleet.http import HttpFleetClient, internal_auth
from voxcore_adapters.mongo import MongoCallLog, MongoCampaigns, MongoContactLeases
from voxcore_adapters.mongo.call_reports import MongoCallReports
from voxcore_adapters.mongo.tenants import MongoTenants
from voxcore_adapters.mongo.trunks import MongoTrunks
from voxcore_adapters.redis import (
    RedisLeaderLock,
    RedisPauseSwitch,
    RedisRateLimiter,
    RedisSlotRegistry,
)
from voxcore_adapters.s3 import S3Connection
from voxcore_adapters.sim import (
    CalleeMedia,
    HeardAudio,
    MediaTarget,
    SimAbandonMessages,
    SimTelephony,
)
from voxcore_adapters.testing.asgi_server import url
from voxcore_adapters.voice.tones import ToneSynth
from voxcore_domain.callevents import CallEventKind
from voxcore_domain.model import (
    CallAttempt,
    ContactState,
    Disposition,
    Slot,
    SlotState,
)
from voxcore_domain.ports import DialRequest, DialResult
from voxcore_domain.schedule import is_open
from voxcore_domain.simulation.callees import CalleeModel
from voxcore_domain.voice.audio import FRAME_BYTES

pytestmark = pytest.mark.integration

WORKERS = ("w1", "w2")
GHOST_SLOTS = 6
TICK_S = 0.5
STALENESS = timedelta(seconds=5)
CALLER_ID = "+14155550100"
ABANDON_MESSAGE = "This was Acme. We will call you back."

CALLEES: dict[str, tuple[Callee, bool]] = {
    "machine": (Callee.answering(after_s=0.2), True),
    "talks-1": (Callee.answering(after_s=0.6), False),
    "talks-2": (Callee.answering(after_s=1.0), False),
    "talks-3": (Callee.answering(after_s=1.4), False),
    "busy": (Callee.busy(after_s=0.2), False),
    "unavailable": (Callee.unavailable(), False),
    "rings-out": (Callee.no_answer(), False),
    "declines": (Callee.declining(), False),
    "invalid": (Callee.invalid(), False),
    "throttled": (Callee.cps_limit(), False),
}
"""Each contact's callee (by the contact's name variable), and whether a machine answers; in
the order they are imported, so leased and dialled. The first tick dials the first eight (two
live workers, six slots of the dead host): the machine and `talks-1` answer first and take the
two workers, for five seconds at least; `talks-2` and `talks-3` answer while both are busy and
are abandoned. The throttled callee comes last, so the trunk's back-off delays nobody else."""
ANSWERING = ("machine", "talks-1", "talks-2", "talks-3")
PHONES = {name: f"+44207940{i:04d}" for i, name in enumerate(CALLEES)}


class CountedCarrier:
    """The simulated carrier, counting the dials that reach it, per number."""

    def __init__(self, sim: SimTelephony) -> None:
        self.sim = sim
        self.dials: Counter[str] = Counter()

    async def place_call(self, request: DialRequest) -> DialResult:
        self.dials[request.to] += 1
        return await self.sim.place_call(request)

    async def hang_up(self, call_id: str, room: str) -> None:
        await self.sim.hang_up(call_id, room)

    async def open_rooms(self, prefix: str) -> list[str]:
        return await self.sim.open_rooms(prefix)


@pytest.fixture
async def platform(
    shop: Shop, dialler_mongo_url: str, s3: S3Connection, sockets: Path, tmp_path: Path
) -> AsyncIterator[Platform]:
    """The API and the fleet workers, as their docs run them, on the test's database and Redis
    prefix."""
    api = api_server(
        shop,
        dialler_mongo_url,
        s3,
        {"VOX_API_RATE_LIMIT_PER_S": "1000", "VOX_API_RATE_LIMIT_BURST": "1000"},
    )
    api_url = url(api)
    workers = [
        fleet_worker(
            worker,
            sockets / f"{worker}.sock",
            api_url,
            shop,
            s3,
            tmp_path / "spool" / worker,
            {"VOX_FLEET_MEDIA_WAIT_S": "5"},
        )
        for worker in WORKERS
    ]
    async with running([api, *workers]):
        yield Platform(api_url, sockets)


def seed_through_the_api(api_url: str) -> Seeded:
    """A tenant with an agent, a trunk and a running campaign whose calling window is open now
    (around noon in `daytime_zone()`) and closes at 14:00; one contact per callee."""
    return seed_campaign(
        api_url,
        agent={
            "name": "Reminders",
            "greeting": "Hello, this is Acme calling about your appointment.",
            "provider": "scripted",
        },
        trunk={
            "name": "Carrier",
            "livekit_trunk_id": "ST_e2e",
            "caller_ids": [CALLER_ID],
            "cps": 50,
        },
        campaign={
            "name": "Appointments",
            "caller_id": CALLER_ID,
            "timezone": daytime_zone(),
            "window": {"start": "10:00", "end": "14:00"},
            "pacing": {"mode": "progressive", "ring_timeout_s": 15},
            "abandon_message": ABANDON_MESSAGE,
        },
        rows=[{"phone": PHONES[name], "variables": {"name": name}} for name in CALLEES],
    )


async def api_stats(api_url: str, seeded: Seeded) -> dict[str, Any]:
    """The campaign's stats as its tenant reads them."""
    async with httpx.AsyncClient(base_url=api_url, timeout=30.0) as http:
        answer = await http.get(f"/v1/campaigns/{seeded.campaign_id}/stats", headers=seeded.headers)
    assert answer.status_code == 200, answer.text
    stats: dict[str, Any] = answer.json()
    return stats


def counted(dialler: Dialler, name: str, **labels: str) -> float:
    value = dialler.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def test_scripted_callees_through_real_workers_and_the_api(
    shop: Shop, platform: Platform, redis: Redis
) -> None:
    seeded = seed_through_the_api(platform.api_url)
    assert (await api_stats(platform.api_url, seeded))["last_hour"]["dials"] == 0
    campaign = MongoCampaigns(shop.db).get(seeded.campaign_id)
    assert campaign is not None
    leases = MongoContactLeases(shop.db)
    log = MongoCallLog(shop.db)
    name_of = {c.id: c.variables["name"] for c in leases.contacts()}
    contact_of = {name: contact_id for contact_id, name in name_of.items()}
    slots = RedisSlotRegistry(redis, shop.prefix)

    # An abandoned callee listens through the attach budget (2 s) and the abandon message (2.1 s,
    # bounded by 15 s) before the dialler hangs up; it waits longer than that for a worker, so
    # the platform, not its patience, ends the call on a loaded machine too.
    media = CalleeMedia(
        slots, MediaTarget(f"unix:{platform.sockets}/{{worker}}.sock"), wait_s=20.0, seed=3
    )
    sim = SimTelephony(
        CalleeModel(answer_rate=1.0, mean_talk_s=5.0, talk_cv=0.0, voicemail_s=5.0),
        media=media,
        throttle_backoff_s=0.5,
    )
    for name, (callee, machine) in CALLEES.items():
        sim.script(PHONES[name], callee, machine=machine)
    carrier = CountedCarrier(sim)
    hosts = {worker: f"unix:{platform.sockets}/{worker}.sock" for worker in WORKERS}
    # The dead host's socket is gone with it.
    hosts["gone"] = f"unix:{platform.sockets}/gone.sock"
    # The workers take calls only with the internal token, as the dialler's settings send it.
    http = httpx.AsyncClient(timeout=httpx.Timeout(1.0), headers=internal_auth(INTERNAL_TOKEN))
    dialler = Dialler(
        campaigns=MongoCampaigns(shop.db),
        leases=leases,
        slots=slots,
        lock=RedisLeaderLock(redis, shop.prefix),
        telephony=carrier,
        fleet=HttpFleetClient(hosts, http, "twilio"),
        call_log=log,
        clock=UtcClock(),
        owner="e2e",
        tick_s=TICK_S,
        attach_budget_s=2.0,
        staleness=STALENESS,
        tenants=MongoTenants(shop.db),
        trunks=MongoTrunks(shop.db),
        pause=RedisPauseSwitch(redis, shop.prefix),
        trunk_limiter=RedisRateLimiter(redis, shop.prefix),
        stores=StoreCalls(offload=True, unavailable=(ConnectionFailure,)),
        unavailable=(RedisConnectionError, RedisTimeoutError),
        rooms=carrier,
        abandon_messages=SimAbandonMessages(sim, OffLoopTones()),
    )
    now = datetime.now(UTC)
    for i in range(GHOST_SLOTS):
        ghost = Slot("gone", f"g{i}", SlotState.IDLE, heartbeat_at=now)
        await slots.heartbeat(ghost, STALENESS)
    # A worker answers before its first heartbeat has landed (it beats from its lifespan, on a
    # loaded machine later than that): the first tick must see both live workers, as planned.
    async with asyncio.timeout(10):
        while sorted(s.host for s in await slots.slots() if s.host in WORKERS) != list(WORKERS):
            await asyncio.sleep(0.05)

    def attached_without_outcome() -> list[CallAttempt]:
        return [
            a
            for contact_id in name_of
            for a in log.for_contact(contact_id)
            if a.attached_at is not None and a.disposition is None
        ]

    async def settled() -> bool:
        # pymongo blocks: off the loop the dialler runs on.
        stored = await asyncio.to_thread(leases.contacts)
        live = [s for s in await slots.slots() if s.host in WORKERS]
        return (
            all(not c.state.in_call and c.lease is None for c in stored)
            and carrier.dials[PHONES["throttled"]] == 2
            and dialler.in_flight == 0
            and not await asyncio.to_thread(attached_without_outcome)
            and len(live) == len(WORKERS)
            and all(s.state is SlotState.IDLE for s in live)
        )

    loop = asyncio.get_running_loop().create_task(
        run_loop(dialler, TICK_S, lambda: datetime.now(UTC))
    )
    try:
        async with asyncio.timeout(60):
            while not await settled():
                if carrier.dials[PHONES["throttled"]] == 1 and counted(
                    dialler, "vox_dialler_not_placed_total", reason="throttled"
                ):
                    # The carrier's CPS cap is over once the trunk's back-off has passed.
                    sim.script(PHONES["throttled"], Callee.busy(after_s=0.1))
                await asyncio.sleep(0.25)
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop
        await dialler.close()
        await sim.aclose()
        await http.aclose()
    assert dialler.failures == []
    finished = datetime.now(UTC)

    stored = {name_of[c.id]: c for c in leases.contacts()}
    attempts = {name: log.for_contact(contact_of[name]) for name in CALLEES}
    placed = {name: [a for a in attempts[name] if a.not_placed is None] for name in CALLEES}

    # Nobody dialled twice: each number reached the carrier once, but the throttled one, whose
    # first dial the carrier turned away (recorded as not placed, no attempt counted).
    assert {name: carrier.dials[PHONES[name]] for name in CALLEES} == {
        name: 2 if name == "throttled" else 1 for name in CALLEES
    }
    assert {name: len(placed[name]) for name in CALLEES} == dict.fromkeys(CALLEES, 1)
    assert all(c.attempts == 1 for c in stored.values())

    # Every contact ends scheduled (ready, a next attempt inside the calling window) or terminal.
    for name, contact in stored.items():
        assert contact.state in (ContactState.READY, ContactState.DONE, ContactState.EXHAUSTED)
        if contact.state is ContactState.READY:
            assert contact.next_attempt_at > finished, name
            assert is_open(campaign.window, campaign.timezone, contact.next_attempt_at), name
    # No answer moves four hours on, past the window's 14:00 end: into tomorrow's window.
    tomorrow = (finished.astimezone(ZoneInfo(campaign.timezone)) + timedelta(days=1)).date()
    ring_out = stored["rings-out"].next_attempt_at.astimezone(ZoneInfo(campaign.timezone))
    assert ring_out.date() == tomorrow

    outcome = {name: (c.state, c.last_disposition) for name, c in stored.items()}
    assert {name: outcome[name] for name in CALLEES if name not in ANSWERING} == {
        "busy": (ContactState.READY, Disposition.BUSY),
        "unavailable": (ContactState.READY, Disposition.NO_ANSWER),
        "rings-out": (ContactState.READY, Disposition.NO_ANSWER),
        "declines": (ContactState.READY, Disposition.DECLINED),
        "invalid": (ContactState.EXHAUSTED, Disposition.INVALID_NUMBER),
        "throttled": (ContactState.READY, Disposition.BUSY),
    }

    # Every answered call either went to a live worker, which reported its one outcome through
    # the API, or was abandoned.
    reports = MongoCallReports(shop.db)
    attached = [name for name in ANSWERING if placed[name][0].attached_at is not None]
    abandoned = [name for name in ANSWERING if placed[name][0].attached_at is None]
    assert (attached, abandoned) == (["machine", "talks-1"], ["talks-2", "talks-3"]), outcome
    for name in attached:
        (attempt,) = placed[name]
        ended = [r for r in reports.for_call(attempt.id) if r.event.kind is CallEventKind.ENDED]
        assert len(ended) == 1, (name, ended)
        (report,) = ended
        assert report.event.disposition is attempt.disposition is stored[name].last_disposition
        assert report.lease_token == attempt.lease_token
        assert attempt.worker is not None
        assert attempt.worker.split("/")[0] in WORKERS
        assert report.event.worker is not None
        assert report.event.worker.split("/")[0] == attempt.worker.split("/")[0]
    # The worker told the machine from the person by the length of the first words.
    assert placed["machine"][0].disposition is Disposition.VOICEMAIL
    assert placed["talks-1"][0].disposition in (Disposition.COMPLETED, Disposition.HUNG_UP)
    for name in abandoned:
        (attempt,) = placed[name]
        assert attempt.answered_at is not None
        assert attempt.disposition is Disposition.ABANDONED
        assert reports.for_call(attempt.id) == []
        assert stored[name].next_attempt_at >= finished + timedelta(hours=71)

    # Abandons counted: the dialler's metric, its abandon rate's numerator, the call log, the
    # contacts and the API's stats all agree.
    abandons = 2
    # `talks-1` and the two abandoned: the machine is not a live answer.
    live_answers = 3
    logged = [a for name in CALLEES for a in placed[name] if a.disposition is Disposition.ABANDONED]
    assert len(logged) == abandons
    assert sum(c.last_disposition is Disposition.ABANDONED for c in stored.values()) == abandons
    assert counted(dialler, "vox_dialler_dials_total", outcome="abandoned") == abandons
    # Each abandoned callee heard the campaign's whole message, then was hung up, once.
    assert counted(dialler, "vox_dialler_abandon_messages_total", result="played") == abandons
    message_frames = -(-len(await ToneSynth().render(ABANDON_MESSAGE)) // FRAME_BYTES)
    for name in abandoned:
        call_id = placed[name][0].id
        assert sim.heard[call_id] == HeardAudio(message_frames, message_frames), name
        assert sim.hung_up.count(call_id) == 1, name
        assert sim.ended[call_id] == "hung up by the platform", name
    assert not {placed[name][0].id for name in attached} & set(sim.heard)
    rates = dialler.stats(campaign).abandon.rates(finished.timestamp())
    assert rates.today_answers == live_answers
    assert rates.today == pytest.approx(abandons / live_answers)
    stats = await api_stats(platform.api_url, seeded)
    assert stats["last_hour"]["abandoned"] == abandons
    assert stats["last_hour"]["live_answers"] == live_answers
    assert stats["last_hour"]["machine_answers"] == 1
    assert stats["last_hour"]["dials"] == len(CALLEES)
