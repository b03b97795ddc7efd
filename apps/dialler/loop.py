"""The dialler's core: one `tick` every LOOP_INTERVAL_SECONDS, one task per dial.

Every decision is the domain's: `plan_tick` paces and shares, `CampaignStats` measures,
`summarize` counts the fleet, the `ContactLeases` store applies the retry policy. This class only
gathers what the planner needs, carries out its plan, and feeds the outcomes back, in the same
way as `voxcore_domain.simulation.engine` does, so what the simulator measures is what runs.

A tick never waits for a call: each dial runs as its own task and reports back through the
dialler's in-memory view of its calls (ringing, waiting for a worker, on a worker).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs
from prometheus_client import CollectorRegistry, Counter, Gauge

from apps.dialler.sharding import ShardCampaigns
from apps.dialler.trunk_guard import TrunkGuard
from voxcore_adapters.fleet.http import AttachRefused
from voxcore_domain.dialplan import CampaignLoad, PlanMemory, plan_tick
from voxcore_domain.errors import StaleLease
from voxcore_domain.estimators import CampaignStats
from voxcore_domain.fairshare import Group
from voxcore_domain.model import (
    CallAttempt,
    Campaign,
    ContactState,
    Disposition,
    Lease,
    Slot,
    SlotState,
)
from voxcore_domain.ports import (
    AttachRequest,
    CallLog,
    Campaigns,
    Clock,
    DialRequest,
    FleetClient,
    LeaderLock,
    LeasedContacts,
    PauseSwitch,
    RateLimiter,
    SlotRegistry,
    Telephony,
    TelephonyError,
    Tenants,
    Trunks,
    TrunkThrottled,
)
from voxcore_domain.slots import DEFAULT_STALENESS, FleetCapacity, is_stale, summarize
from voxcore_domain.trunklimits import BreakerPolicy, TrunkLoad

log = logging.getLogger(__name__)


@attrs.define
class Call:
    """One dial, from the moment it is placed until its outcome is recorded."""

    id: str
    campaign: Campaign
    lease: Lease
    attempt: CallAttempt
    room: str
    answered: bool = False
    attached_at: datetime | None = None
    seen_busy: bool = False
    """Its worker's slot has reported it busy at least once."""
    freed_at: datetime | None = None
    """When its slot stopped reporting it: the call is over, its outcome not yet known."""


@attrs.frozen
class TickReport:
    leader: bool
    pool: int = 0
    planned: Mapping[str, int] = attrs.field(factory=dict)
    """New dials per campaign the planner asked for."""
    leased: Mapping[str, int] = attrs.field(factory=dict)
    """Contacts leased (and dialled) per campaign: fewer than planned when too few are due."""


class DiallerMetrics:
    """Counters in a registry of their own, so several diallers (tests) never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.ticks = Counter(
            "vox_dialler_ticks", "Ticks, by role: leader or standby.", ["role"],
            registry=self.registry,
        )  # fmt: skip
        self.dials = Counter(
            "vox_dialler_dials",
            "Dials by outcome: answered, attached, abandoned, throttled, refused, or the "
            "disposition of a dial nobody answered.",
            ["outcome"],
            registry=self.registry,
        )
        self.failures = Counter(
            "vox_dialler_task_failures",
            "Dial tasks that ended on an unexpected error.",
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "vox_dialler_in_flight", "Calls from dial to recorded outcome.", registry=self.registry
        )
        self.tick_seconds = Gauge(
            "vox_dialler_tick_seconds", "How long the last tick took.", registry=self.registry
        )


class Dialler:
    """The loop's state between ticks and the dial tasks it starts.

    Stores (`leases`, `campaigns`, `call_log`) are synchronous, as the ports define them; the
    rest are awaited. Not thread-safe: one event loop drives it.
    """

    def __init__(
        self,
        *,
        campaigns: Campaigns,
        leases: LeasedContacts,
        slots: SlotRegistry,
        lock: LeaderLock,
        telephony: Telephony,
        fleet: FleetClient,
        call_log: CallLog,
        clock: Clock,
        owner: str,
        shard: str = "0",
        leader_ttl: timedelta = timedelta(seconds=6),
        lease_ttl: timedelta = timedelta(minutes=65),
        tick_s: float = 2.0,
        attach_budget_s: float = 2.0,
        staleness: timedelta = DEFAULT_STALENESS,
        new_call_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        metrics: DiallerMetrics | None = None,
        trunks: Trunks | None = None,
        tenants: Tenants | None = None,
        pause: PauseSwitch | None = None,
        shards: int = 1,
        breaker: BreakerPolicy | None = None,
        trunk_sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        trunk_limiter: RateLimiter | None = None,
    ) -> None:
        # Only the campaigns of this dialler's shard exist for it.
        self._campaigns = (
            campaigns if shards == 1 else ShardCampaigns(campaigns, int(shard), shards)
        )
        self._leases = leases
        self._slots = slots
        self._lock = lock
        self._trunks = trunks
        """Each trunk's carrier limits; None: only the carrier's own refusals limit a trunk."""
        self._tenants = tenants
        self._pause = pause
        self.trunk_guard = TrunkGuard(telephony, clock, breaker, trunk_sleep, trunk_limiter)
        self._telephony: Telephony = self.trunk_guard
        self._fleet = fleet
        self._call_log = call_log
        self._clock = clock
        self.owner = owner
        self.shard = shard
        self._leader_ttl = leader_ttl
        self._lease_ttl = lease_ttl
        self._tick_s = tick_s
        self._attach_budget_s = attach_budget_s
        self._staleness = staleness
        self._new_call_id = new_call_id
        self.metrics = metrics or DiallerMetrics()
        self.token: int | None = None
        """The leader lock's fencing token while this dialler leads its shard."""
        self._reconciled = False
        self._memory = PlanMemory()
        self._stats: dict[str, CampaignStats] = {}
        self._calls: dict[str, Call] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._capacity = FleetCapacity(hosts={}, busy_elapsed=())
        self.last_tick_at: datetime | None = None
        self.last_tick_s: float | None = None
        self.failures: list[BaseException] = []
        """Dial tasks that died on an unexpected error (also logged and counted)."""

    # -- what /health shows ----------------------------------------------------------------------

    @property
    def leader(self) -> bool:
        return self.token is not None

    @property
    def in_flight(self) -> int:
        return len(self._calls)

    def stats(self, campaign: Campaign) -> CampaignStats:
        stats = self._stats.get(campaign.id)
        if stats is None:
            stats = self._stats[campaign.id] = CampaignStats(
                timezone=campaign.timezone, ring_timeout_s=campaign.pacing.ring_timeout_s
            )
        return stats

    # -- the tick ----------------------------------------------------------------------------------

    async def tick(self, now: datetime) -> TickReport:
        started = time.perf_counter()
        try:
            return await self._tick(now)
        finally:
            self.last_tick_at = now
            self.last_tick_s = time.perf_counter() - started
            self.metrics.tick_seconds.set(self.last_tick_s)
            self.metrics.in_flight.set(len(self._calls))

    async def _tick(self, now: datetime) -> TickReport:
        took_over = await self._hold_lock()
        self.metrics.ticks.labels("leader" if self.leader else "standby").inc()
        if not self.leader:
            return TickReport(leader=False)
        if took_over:
            self._reconciled = False
        campaigns = self._campaigns.running()
        if not self._reconciled:
            # Calls a previous leader left mid-dial are closed out before anything is dialled;
            # until that has succeeded once (the store may be down), every tick tries again.
            for campaign in campaigns:
                for contact in self._leases.recover_expired(campaign, now):
                    log.info("recovered contact %s left in a call by a previous leader", contact.id)
            self._reconciled = True
        slots = await self._slots.slots()
        self._capacity = summarize(slots, now, self._staleness)
        self._follow_attached(slots, now)
        paused, tenants, trunks = await self._limits(now)
        loads = [self._load(campaign, now) for campaign in campaigns]
        plan = plan_tick(
            now.timestamp(),
            self._capacity.total,
            loads,
            tenants,
            memory=self._memory,
            tick_s=self._tick_s,
            trunks=trunks,
            paused=paused,
        )
        self._memory = plan.memory
        token = self.token
        leased: dict[str, int] = {}
        for campaign in campaigns:
            wanted = plan.dials.get(campaign.id, 0)
            if wanted <= 0:
                continue
            leases = self._leases.lease(campaign, wanted, self.owner, now, self._lease_ttl)
            leased[campaign.id] = len(leases)
            for lease in leases:
                self._spawn(self._dial(campaign, lease, token))
        return TickReport(
            leader=True, pool=self._capacity.total, planned=dict(plan.dials), leased=leased
        )

    async def _hold_lock(self) -> bool:
        """Renew the shard's leader lock, or try to take it; whether it was just taken."""
        if self.token is not None:
            if await self._lock.renew(self.shard, self.owner, self.token, self._leader_ttl):
                return False
            log.warning("lost the leader lock of shard %s (token %s)", self.shard, self.token)
            self.token = None
        self.token = await self._lock.acquire(self.shard, self.owner, self._leader_ttl)
        if self.token is not None:
            log.info("leading shard %s with token %s", self.shard, self.token)
        return self.token is not None

    def _load(self, campaign: Campaign, now: datetime) -> CampaignLoad:
        busy: list[float] = []
        ringing: list[float] = []
        waiting = 0
        for call in self._calls.values():
            if call.campaign.id != campaign.id or call.freed_at is not None:
                continue
            if call.attached_at is not None:
                busy.append(max(0.0, (now - call.attached_at).total_seconds()))
            elif call.answered:
                waiting += 1
            else:
                ringing.append(max(0.0, (now - call.attempt.dialed_at).total_seconds()))
        busy_elapsed = tuple(busy)
        limited = self._trunks is not None
        return CampaignLoad(
            campaign_id=campaign.id,
            tenant_id=campaign.tenant_id,
            mode=campaign.pacing.mode,
            stats=self.stats(campaign).snapshot(now.timestamp(), busy_elapsed),
            busy_elapsed=busy_elapsed,
            ringing_elapsed=tuple(ringing),
            waiting=waiting,
            weight=campaign.weight,
            max_concurrency=campaign.max_concurrency,
            abandon_target=campaign.pacing.abandon_target,
            ring_timeout_s=campaign.pacing.ring_timeout_s,
            # With no trunk store, the carrier's refusals alone stop a trunk (back-off, breaker).
            available=None
            if limited
            else self.trunk_guard.available(campaign.trunk_id, now.timestamp()),
            trunk_id=campaign.trunk_id if limited else None,
        )

    async def _limits(
        self, now: datetime
    ) -> tuple[bool, dict[str, Group], dict[str, TrunkLoad] | None]:
        """The platform pause, the tenants' weights and caps, and each trunk's limits, state
        and calls in progress."""
        paused = self._pause is not None and await self._pause.paused()
        tenants = {
            t.id: Group(t.id, t.weight, t.max_concurrency)
            for t in (self._tenants.all() if self._tenants is not None else ())
        }
        if self._trunks is None:
            return paused, tenants, None
        self.trunk_guard.update(self._trunks.all())
        in_use: dict[str, int] = {}
        for call in self._calls.values():
            # A call holds its trunk's channel from the dial until it is over.
            if call.freed_at is None:
                key = call.campaign.trunk_id
                in_use[key] = in_use.get(key, 0) + 1
        return paused, tenants, self.trunk_guard.loads(in_use)

    def _follow_attached(self, slots: list[Slot], now: datetime) -> None:
        """Notice attached calls whose worker's slot no longer holds them, and feed the stats
        once their outcome is in the call log (the worker reports it, not the dialler)."""
        holding = {
            slot.call_id
            for slot in slots
            if slot.state is SlotState.BUSY
            and slot.call_id is not None
            and not is_stale(slot, now, self._staleness)
        }
        for call in list(self._calls.values()):
            if call.attached_at is None:
                continue
            if call.freed_at is None:
                if call.id in holding:
                    call.seen_busy = True
                    continue
                # A slot reports its call on its next heartbeat; until the staleness limit has
                # passed without one, a call never seen busy is taken to be starting, not over.
                if not call.seen_busy and now - call.attached_at <= self._staleness:
                    continue
                call.freed_at = now
            self._settle_attached(call, call.attached_at, call.freed_at, now)

    def _settle_attached(
        self, call: Call, attached_at: datetime, freed_at: datetime, now: datetime
    ) -> None:
        recorded = next(
            (a for a in self._call_log.for_contact(call.lease.contact_id) if a.id == call.id),
            None,
        )
        if recorded is not None and recorded.disposition is not None:
            slot_s = (freed_at - attached_at).total_seconds()
            self.stats(call.campaign).call_ended(recorded.disposition, slot_s, now.timestamp())
            del self._calls[call.id]
        elif now >= call.lease.expires_at:
            # Nobody reported the outcome within the lease: `recover_expired` closes the
            # contact as failed, and a guess here would skew the abandon rate's denominator.
            log.warning("call %s ended without a reported outcome", call.id)
            del self._calls[call.id]

    # -- one dial ----------------------------------------------------------------------------------

    def _spawn(self, dial: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(dial)
        self._tasks.add(task)
        task.add_done_callback(self._dial_done)

    def _dial_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self.metrics.in_flight.set(len(self._calls))
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            # The task is the top of its own stack: nobody else will see this error.
            log.error("dial task failed", exc_info=error)
            self.failures.append(error)
            self.metrics.failures.inc()

    async def wait_idle(self) -> None:
        """Wait until every dial task started so far has finished (tests, shutdown)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def _dial(self, campaign: Campaign, lease: Lease, token: int | None) -> None:
        # The leader token is checked with the lock itself before every dial, not only each
        # tick: a leader paused (GC, SIGSTOP) between its tick and this task must not dial once
        # a standby has taken over.
        leading = (
            token is not None
            and self.token == token
            and await self._lock.renew(self.shard, self.owner, token, self._leader_ttl)
        )
        now = self._clock.now()
        if not leading:
            if self.token == token:
                self.token = None
            log.warning("no longer leading shard %s: giving back %s", self.shard, lease.contact_id)
            self._leases.release(lease, now)
            return
        contact = self._leases.get(lease.contact_id)
        if contact is None:
            raise LookupError(f"leased contact {lease.contact_id} is not in the store")
        call_id = self._new_call_id()
        self._leases.advance(lease, ContactState.DIALING, now)
        attempt = CallAttempt(
            id=call_id,
            contact_id=contact.id,
            campaign_id=campaign.id,
            tenant_id=campaign.tenant_id,
            number=contact.attempts + 1,
            lease_token=lease.token,
            dialed_at=now,
        )
        call = Call(call_id, campaign, lease, attempt, room=f"call-{call_id}")
        self._calls[call_id] = call
        self._call_log.record(attempt)
        try:
            await self._place(call, contact.phone, contact.variables)
        except StaleLease as stale:
            # Another holder's token owns the contact now; nothing of ours may be written.
            log.warning("call %s lost its lease: %s", call_id, stale)
            self._calls.pop(call_id, None)
        finally:
            if call.attached_at is None:
                self._calls.pop(call_id, None)

    async def _place(self, call: Call, phone: str, variables: Mapping[str, str]) -> None:
        campaign = call.campaign
        stats = self.stats(campaign)
        request = DialRequest(
            call_id=call.id,
            trunk_id=campaign.trunk_id,
            to=phone,
            caller_id=campaign.caller_id,
            ring_timeout_s=campaign.pacing.ring_timeout_s,
            room=call.room,
        )
        try:
            result = await self._telephony.place_call(request)
        except TrunkThrottled as throttled:
            # `TrunkGuard` has already backed the trunk off (`TrunkState.throttled`).
            now = self._clock.now()
            self.metrics.dials.labels("throttled").inc()
            log.warning("%s; backing off %.1f s", throttled, throttled.retry_after_s)
            self._give_back(call, now)
            return
        except TelephonyError as error:
            self.metrics.dials.labels("refused").inc()
            log.error("dial %s refused by the provider: %s", call.id, error)
            self._give_back(call, self._clock.now())
            return
        now = self._clock.now()
        ring_s = max(0.0, (now - call.attempt.dialed_at).total_seconds())
        if result.answered_at is None:
            disposition = result.disposition or Disposition.FAILED
            stats.dial_resolved(False, ring_s, now.timestamp())
            self.metrics.dials.labels(disposition.value).inc()
            self._finish(call, disposition, now)
            return
        stats.dial_resolved(True, ring_s, now.timestamp())
        self.metrics.dials.labels("answered").inc()
        call.answered = True
        self._leases.advance(call.lease, ContactState.ANSWERED, now)
        call.attempt = attrs.evolve(call.attempt, answered_at=result.answered_at)
        self._call_log.record(call.attempt)
        await self._attach(call, variables)

    async def _attach(self, call: Call, variables: Mapping[str, str]) -> None:
        campaign = call.campaign
        request = AttachRequest(
            call_id=call.id,
            tenant_id=campaign.tenant_id,
            campaign_id=campaign.id,
            agent_id=campaign.agent_id,
            lease_token=call.lease.token,
            room=call.room,
            variables=variables,
        )
        host: str | None = None
        try:
            # The budget runs from the answer: the callee is listening to silence.
            async with asyncio.timeout(self._attach_budget_s):
                result = await self._fleet.attach(request, self._capacity.attach_order())
            host = result.host if result.accepted else None
        except TimeoutError:
            log.warning("call %s: no worker within %.1f s", call.id, self._attach_budget_s)
        except AttachRefused as refused:
            log.error("call %s: %s", call.id, refused)
        now = self._clock.now()
        if host is None:
            await self._abandon(call, now)
            return
        self._leases.advance(call.lease, ContactState.ATTACHED, now)
        call.attached_at = now
        call.attempt = attrs.evolve(call.attempt, attached_at=now, worker=host)
        self._call_log.record(call.attempt)
        self.metrics.dials.labels("attached").inc()

    async def _abandon(self, call: Call, now: datetime) -> None:
        """No worker in time: end the call and count it; the retry policy keeps the number
        from being dialled again for at least 72 hours."""
        self.metrics.dials.labels("abandoned").inc()
        try:
            await self._telephony.hang_up(call.id, call.room)
        finally:
            # Recorded even if the hang-up failed: the callee was abandoned either way.
            self.stats(call.campaign).call_ended(Disposition.ABANDONED, None, now.timestamp())
            self._finish(call, Disposition.ABANDONED, now)

    def _finish(self, call: Call, disposition: Disposition, now: datetime) -> None:
        self._leases.complete(call.lease, call.campaign, disposition, now)
        call.attempt = attrs.evolve(call.attempt, ended_at=now, disposition=disposition)
        self._call_log.record(call.attempt)

    def _give_back(self, call: Call, now: datetime) -> None:
        """The provider turned the dial down before it reached the callee: the contact is ready
        again with no attempt counted, and no stats are fed (nobody was dialled)."""
        self._leases.undial(call.lease, now)
        call.attempt = attrs.evolve(call.attempt, ended_at=now, disposition=Disposition.FAILED)
        self._call_log.record(call.attempt)

    async def close(self) -> None:
        """Let every dial finish, then give up the leader lock so a standby need not wait for
        its TTL."""
        await self.wait_idle()
        if self.token is not None:
            await self._lock.release(self.shard, self.owner, self.token)
            self.token = None
