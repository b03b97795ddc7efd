"""The dialler on its real adapters, in this process: MongoDB (leases, campaigns, call log, off the
loop), Redis (leader lock, slot registry) and LiveKit (the Twirp double playing scripted callees).

The fleet side is a stand-in (`WorkerStandIn`): it claims idle slots in Redis as a worker's
`POST /attach` does, refuses the calls of contacts marked `fleet=full` (the abandon path), and
ends each attached call as the worker plus the API would: the call's outcome in the call log,
the contact closed by its lease token (unstamped: the API is no leader), the slot idle again.
Real fleet workers need a carrier media stream per call, which nothing here provides.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, time, timedelta

import attrs
import pytest
from pymongo.errors import ConnectionFailure
from redis.asyncio import Redis

from apps.dialler.loop import Dialler
from apps.dialler.stores import StoreCalls
from tests.integration.dialler.conftest import TRUNK, Shop
from voxcore_adapters.fakes import Callee
from voxcore_adapters.livekit import LiveKitSettings, LiveKitTelephony
from voxcore_adapters.mongo import (
    MongoCallLog,
    MongoCampaigns,
    MongoContactImport,
    MongoContactLeases,
)
from voxcore_adapters.redis import RedisLeaderLock, RedisSlotRegistry, connect
from voxcore_adapters.testing.livekit_double import LiveKitDouble
from voxcore_domain.model import (
    CallingWindow,
    Campaign,
    CampaignState,
    Contact,
    ContactState,
    Disposition,
    Lease,
    PacingSettings,
    Slot,
    SlotState,
)
from voxcore_domain.ports import AttachRequest, AttachResult
from voxcore_domain.schedule import is_open

pytestmark = pytest.mark.integration

SLOT_TTL = timedelta(minutes=5)


class _Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def window_around_now() -> CallingWindow:
    """Open from about an hour ago to about an hour from now (UTC, whole minutes, within
    today): retries hours later must be moved into tomorrow's window."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = (now - timedelta(hours=1)).time() if now.hour >= 1 else time(0, 0)
    end = (now + timedelta(hours=1)).time() if now.hour < 23 else time(23, 59, 59, 999999)
    return CallingWindow(start=start, end=end)


class WorkerStandIn:
    """`FleetClient` plus the worker and API's side of an attached call (see the module)."""

    def __init__(
        self, slots: RedisSlotRegistry, leases: MongoContactLeases, log: MongoCallLog
    ) -> None:
        self.slots = slots
        self.leases = leases
        self.log = log
        self.campaign: Campaign | None = None
        self.calls: list[asyncio.Task[None]] = []

    async def attach(self, request: AttachRequest, hosts: Sequence[str]) -> AttachResult:
        if request.variables.get("fleet") == "full":
            return AttachResult(accepted=False, retry_after_s=1.0)
        for slot in await self.slots.slots():
            if slot.host in hosts and slot.state is SlotState.IDLE:
                now = datetime.now(UTC)
                busy = attrs.evolve(
                    slot, state=SlotState.BUSY, call_id=request.call_id, busy_since=now,
                    heartbeat_at=now,
                )  # fmt: skip
                await self.slots.heartbeat(busy, SLOT_TTL)
                self.calls.append(asyncio.create_task(self._run(busy, request)))
                return AttachResult(accepted=True, host=slot.host)
        return AttachResult(accepted=False)

    async def _run(self, slot: Slot, request: AttachRequest) -> None:
        await asyncio.sleep(0.5)
        machine = request.variables.get("callee") == "machine"
        disposition = Disposition.VOICEMAIL if machine else Disposition.COMPLETED
        now = datetime.now(UTC)
        # What the API does with the worker's `ended` event: record, then close by the token.
        attempt = await asyncio.to_thread(self.log.get, request.call_id)
        assert attempt is not None
        await asyncio.to_thread(
            self.log.record, attrs.evolve(attempt, ended_at=now, disposition=disposition)
        )
        contact_id = attempt.contact_id
        by_token = Lease(contact_id, "api", request.lease_token, now + timedelta(days=1))
        assert self.campaign is not None
        await asyncio.to_thread(self.leases.complete, by_token, self.campaign, disposition, now)
        idle = attrs.evolve(slot, state=SlotState.IDLE, call_id=None, heartbeat_at=now)
        await self.slots.heartbeat(idle, SLOT_TTL)


@pytest.fixture
async def redis(shop: Shop) -> AsyncIterator[Redis]:
    client = connect(shop.redis_url)
    yield client
    await client.aclose()


async def test_scripted_callees_end_scheduled_or_terminal_and_nobody_is_dialled_twice(
    shop: Shop, livekit: LiveKitDouble, redis: Redis
) -> None:
    campaign = Campaign(
        id="c1",
        tenant_id="t1",
        name="End to end",
        agent_id="a1",
        trunk_id=TRUNK,
        caller_id="+442071234567",
        window=window_around_now(),
        pacing=PacingSettings(mode="progressive", ring_timeout_s=15),
        state=CampaignState.RUNNING,
    )
    MongoCampaigns(shop.db).put(campaign)
    scripts: dict[str, tuple[Callee, dict[str, str]]] = {
        "talks": (Callee.answering(after_s=0.3), {}),
        "talks-too": (Callee.answering(after_s=0.1), {}),
        "machine": (Callee.answering(after_s=0.2), {"callee": "machine"}),
        "abandoned": (Callee.answering(after_s=0.1), {"fleet": "full"}),
        "busy": (Callee.busy(after_s=0.1), {}),
        "unavailable": (Callee.unavailable(), {}),
        "declines": (Callee.declining(), {}),
        "invalid": (Callee.invalid(), {}),
        "throttled": (Callee.cps_limit(), {}),
    }
    people: dict[str, Contact] = {}
    for i, (name, (callee, variables)) in enumerate(scripts.items()):
        phone = f"+4420794{i:05d}"
        people[name] = Contact(
            id=name,
            campaign_id="c1",
            tenant_id="t1",
            phone=phone,
            next_attempt_at=datetime.now(UTC) - timedelta(minutes=1),
            variables=variables,
        )
        livekit.script(phone, callee)
    MongoContactImport(shop.db).import_contacts(list(people.values()))
    leases = MongoContactLeases(shop.db, rng=random.Random(11))
    log = MongoCallLog(shop.db)
    slots = RedisSlotRegistry(redis, shop.prefix)
    for i in range(3):
        worker = Slot("h1", f"w{i}", SlotState.IDLE, heartbeat_at=datetime.now(UTC))
        await slots.heartbeat(worker, SLOT_TTL)
    fleet = WorkerStandIn(slots, leases, log)
    fleet.campaign = campaign
    async with LiveKitTelephony(
        LiveKitSettings(livekit.url, livekit.api_key, livekit.api_secret, throttle_backoff_s=0.5)
    ) as telephony:
        dialler = Dialler(
            campaigns=MongoCampaigns(shop.db),
            leases=leases,
            slots=slots,
            lock=RedisLeaderLock(redis, shop.prefix),
            telephony=telephony,
            fleet=fleet,
            call_log=log,
            clock=_Clock(),
            owner="d1",
            tick_s=0.3,
            attach_budget_s=1.0,
            staleness=timedelta(seconds=3),
            stores=StoreCalls(offload=True, unavailable=(ConnectionFailure,)),
            rooms=telephony,
        )

        def settled() -> bool:
            stored = {c.id: c for c in leases.contacts()}
            return (
                all(not c.state.in_call and c.lease is None for c in stored.values())
                and stored["throttled"].attempts == 1
                and dialler.in_flight == 0
            )

        throttled_seen = False
        for _ in range(100):
            await dialler.tick(datetime.now(UTC))
            await asyncio.sleep(0.3)
            for slot in await slots.slots():
                await slots.heartbeat(attrs.evolve(slot, heartbeat_at=datetime.now(UTC)), SLOT_TTL)
            if not throttled_seen and dialler.metrics.registry.get_sample_value(
                "vox_dialler_not_placed_total", {"reason": "throttled"}
            ):
                # The trunk's CPS cap is over once the back-off has passed: the callee is busy.
                throttled_seen = True
                livekit.script(people["throttled"].phone, Callee.busy(after_s=0.1))
            if settled():
                break
        await dialler.wait_idle()
        await asyncio.gather(*fleet.calls)
        assert dialler.failures == []
        assert settled(), [(c.id, c.state, c.attempts) for c in leases.contacts()]
        await dialler.close()

    stored = {c.id: c for c in leases.contacts()}
    outcome = {name: (c.state, c.last_disposition) for name, c in stored.items()}
    assert outcome == {
        "talks": (ContactState.DONE, Disposition.COMPLETED),
        "talks-too": (ContactState.DONE, Disposition.COMPLETED),
        "machine": (ContactState.READY, Disposition.VOICEMAIL),
        "abandoned": (ContactState.READY, Disposition.ABANDONED),
        "busy": (ContactState.READY, Disposition.BUSY),
        "unavailable": (ContactState.READY, Disposition.NO_ANSWER),
        "declines": (ContactState.READY, Disposition.DECLINED),
        "invalid": (ContactState.EXHAUSTED, Disposition.INVALID_NUMBER),
        "throttled": (ContactState.READY, Disposition.BUSY),
    }
    # Every retry lands inside the calling window, and the abandoned number waits 72 hours.
    for contact in stored.values():
        if contact.state is ContactState.READY:
            assert is_open(campaign.window, "UTC", contact.next_attempt_at), contact.id
    assert stored["abandoned"].next_attempt_at >= datetime.now(UTC) + timedelta(hours=71)
    # Nobody dialled twice: each number reached the double once, but the throttled one, whose
    # first dial the trunk turned away (recorded as not placed, no attempt counted).
    dials = Counter(
        str(getattr(call.request, "sip_call_to", ""))
        for call in livekit.calls_to("SIP/CreateSIPParticipant")
    )
    assert {name: dials[people[name].phone] for name in people} == {
        name: 2 if name == "throttled" else 1 for name in people
    }
    assert all(c.attempts == 1 for c in stored.values())
    not_placed = [a for a in log.for_contact("throttled") if a.not_placed]
    assert [a.not_placed for a in not_placed] == ["throttled"]
    assert not_placed[0].disposition is None
    # Abandons counted the regulators' way: one abandon over three live answers (the machine
    # is not one).
    rates = dialler.stats(campaign).abandon.rates(datetime.now(UTC).timestamp())
    assert rates.today_answers == 3
    assert rates.today == pytest.approx(1 / 3)
    assert (
        dialler.metrics.registry.get_sample_value(
            "vox_dialler_dials_total", {"outcome": "abandoned"}
        )
        == 1
    )
