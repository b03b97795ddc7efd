"""The dialler's core: one `tick` every LOOP_INTERVAL_SECONDS, one task per dial.

Every decision is the domain's: `plan_tick` paces and shares, `CampaignStats` measures,
`summarize` counts the fleet, the `ContactLeases` store applies the retry policy. This class only
gathers what the planner needs, carries out its plan, and feeds the outcomes back, in the same
way as `voxcore_domain.simulation.engine` does, so what the simulator measures is what runs.

A tick never waits for a call: each dial runs as its own task and reports back through the
dialler's in-memory view of its calls (ringing, waiting for a worker, on a worker).

Store calls go through `StoreCalls` (`apps.dialler.stores`): off the loop for MongoDB, inline
for the fakes, and kept for later while the store is down. Every lease a leader takes is stamped
with its fencing token (`Fence`); on taking a shard over, the dialler makes the store refuse the
previous leader's writes (`FencedContactLeases.take_over`) and closes out or adopts the calls it
left (`_reconcile`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import attrs
from prometheus_client import CollectorRegistry, Counter, Gauge

from apps.dialler.fleet_hosts import FleetHostList
from apps.dialler.sharding import ShardCampaigns
from apps.dialler.stores import StoreCalls, WriteGate
from apps.dialler.trunk_guard import TrunkGuard
from voxcore_adapters.fleet.http import AttachRefused
from voxcore_adapters.tasks import cancel_and_wait
from voxcore_domain.callreports import keep_recorded
from voxcore_domain.dialplan import CampaignLoad, PlanMemory, plan_tick
from voxcore_domain.errors import FencedOut, InvalidTransition, StaleLease
from voxcore_domain.estimators import CampaignStats
from voxcore_domain.fairshare import Group
from voxcore_domain.leadership import Fence
from voxcore_domain.model import (
    CallAttempt,
    Campaign,
    Contact,
    ContactState,
    Disposition,
    Lease,
    Slot,
    SlotState,
)
from voxcore_domain.ports import (
    AbandonMessages,
    AttachRequest,
    CallHistory,
    CallRooms,
    Campaigns,
    Clock,
    DialRequest,
    FencedContactLeases,
    FleetClient,
    LeaderReissue,
    PauseSwitch,
    RateLimiter,
    SlotRegistry,
    Telephony,
    TelephonyError,
    TelephonyRefused,
    Tenants,
    TrunkChannels,
    Trunks,
    TrunkThrottled,
)
from voxcore_domain.shards import shard_of
from voxcore_domain.slots import DEFAULT_STALENESS, FleetCapacity, is_stale, summarize
from voxcore_domain.trunklimits import BreakerPolicy, TrunkLoad

log = logging.getLogger(__name__)

ROOM_PREFIX = "call-"
"""The dialler's room scheme: `call-<call id>`. A new leader deletes rooms of this scheme that
no call in flight owns."""


def room_of(call_id: str) -> str:
    return f"{ROOM_PREFIX}{call_id}"


SWAP_ROUNDS = 20
"""Compare-and-set rounds before a call log write gives up on an attempt that keeps changing."""


def record_growth(call_log: CallHistory, attempt: CallAttempt) -> None:
    """Write the dialler's view of `attempt` without undoing what the worker's reports merged
    into the stored one (`keep_recorded`), by compare-and-set against the API's merges."""
    for _ in range(SWAP_ROUNDS):
        stored = call_log.get(attempt.id)
        if stored is None:
            # The dial's first record: no report can exist for a call not yet in the log.
            call_log.record(attempt)
            return
        grown = keep_recorded(stored, attempt)
        if grown == stored or call_log.swap(stored, grown):
            return
    raise RuntimeError(f"call {attempt.id} kept changing while the dialler recorded it")


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
            "Dials by outcome: answered, attached, abandoned, or the disposition of a dial "
            "nobody answered. Dials the provider turned down before they reached anyone are in "
            "vox_dialler_not_placed (a throttled one is also counted here as throttled).",
            ["outcome"],
            registry=self.registry,
        )
        self.failures = Counter(
            "vox_dialler_task_failures",
            "Dial tasks that ended on an unexpected error.",
            registry=self.registry,
        )
        self.not_placed = Counter(
            "vox_dialler_not_placed",
            "Dials the provider turned down before they reached anyone, by reason: throttled, "
            "refused (credentials, grants or trunk configuration), provider_error. No attempt is "
            "counted for them.",
            ["reason"],
            registry=self.registry,
        )
        self.abandon_messages = Counter(
            "vox_dialler_abandon_messages",
            "Abandoned calls by what was said before the hang-up: played, failed (the message "
            "could not be played), none (the campaign has no message).",
            ["result"],
            registry=self.registry,
        )
        self.reconciled = Counter(
            "vox_dialler_reconciled",
            "Calls a previous leader left, by what the new leader did: released (never dialled), "
            "closed (failed by the retry policy, room deleted), adopted (on a worker), "
            "orphan_room (a room of the dialler's scheme no call owned, deleted).",
            ["action"],
            registry=self.registry,
        )
        self.store_errors = Counter(
            "vox_dialler_store_unavailable",
            "Steps skipped because a store (MongoDB or Redis) could not be reached, by step.",
            ["step"],
            registry=self.registry,
        )
        self.buffered = Gauge(
            "vox_dialler_buffered_writes",
            "Writes of calls in progress kept until MongoDB is back.",
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "vox_dialler_in_flight", "Calls from dial to recorded outcome.", registry=self.registry
        )
        self.channels_full = Counter(
            "vox_dialler_trunk_channels_full",
            "Dials given back before they went out: every channel of their trunk was taken, "
            "counting the calls of every dialler.",
            registry=self.registry,
        )
        self.tick_seconds = Gauge(
            "vox_dialler_tick_seconds", "How long the last tick took.", registry=self.registry
        )
        self.tick_overruns = Counter(
            "vox_dialler_tick_overruns",
            "Ticks that took longer than LOOP_INTERVAL_SECONDS. The next tick starts as soon as "
            "such a tick ends: ticks never overlap, and missed ones are not made up.",
            registry=self.registry,
        )


class Dialler:
    """The loop's state between ticks and the dial tasks it starts.

    Stores (`leases`, `campaigns`, `call_log`) are synchronous, as the ports define them, and are
    called through `stores` (inline by default; see `apps.dialler.stores`); the rest are awaited.
    Not thread-safe: one event loop drives it.
    """

    def __init__(
        self,
        *,
        campaigns: Campaigns,
        leases: FencedContactLeases,
        slots: SlotRegistry,
        lock: LeaderReissue,
        telephony: Telephony,
        fleet: FleetClient,
        call_log: CallHistory,
        clock: Clock,
        owner: str,
        shard: str = "0",
        leader_ttl: timedelta = timedelta(seconds=6),
        lease_ttl: timedelta = timedelta(minutes=2),
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
        stores: StoreCalls | None = None,
        unavailable: tuple[type[BaseException], ...] = (),
        rooms: CallRooms | None = None,
        abandon_messages: AbandonMessages | None = None,
        abandon_message_budget_s: float = 15.0,
        outcome_grace: timedelta = timedelta(minutes=2),
        recover_every: int = 30,
        fleet_hosts: FleetHostList | None = None,
        channels: TrunkChannels | None = None,
        channel_ttl: timedelta = timedelta(seconds=30),
    ) -> None:
        """`unavailable`: exceptions meaning Redis or the slot registry cannot be reached now
        (the store's own are `stores.unavailable`). `rooms`: the provider's rooms, for closing
        out a dead leader's calls (None: only the rooms of calls found in the store are
        deleted). `abandon_messages`: says a campaign's abandon message (None: the abandon path
        hangs up in silence and counts it so). `outcome_grace`: how long after its worker let
        go of an attached call the dialler waits for its reported outcome before closing the
        contact as failed. `recover_every`: ticks between sweeps for calls whose lease ran out
        (`ContactLeases.recover_expired`). `fleet_hosts`: the hosts new calls may go to; the
        slots of any other host are left out of the capacity planned with (None: every host the
        slot registry reports). `channels`: each trunk's calls counted across every dialler
        (None: this process's calls only); a call's channel lasts `channel_ttl` unrenewed."""
        # Only the campaigns of this dialler's shard exist for it.
        self._campaigns = (
            campaigns if shards == 1 else ShardCampaigns(campaigns, int(shard), shards)
        )
        self._shards = shards
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
        self._stores = stores or StoreCalls()
        self._unavailable = unavailable
        self._rooms = rooms
        self._abandon_messages = abandon_messages
        self._abandon_message_budget_s = abandon_message_budget_s
        self._outcome_grace = outcome_grace
        self._gate = WriteGate()
        self._recover_every = recover_every
        self._fleet_hosts = fleet_hosts
        self._channels = channels
        self._channel_ttl = channel_ttl
        self._holding: dict[str, str] = {}
        """Calls of this dialler holding a trunk channel in `channels`: call id → trunk id."""
        self._ticks_to_recovery = recover_every
        self._running: list[Campaign] = []
        """The running campaigns as last read: in-flight calls are followed from it while
        MongoDB is down."""
        self.token: int | None = None
        """The leader lock's fencing token while this dialler leads its shard."""
        self._reconciled = False
        self._memory = PlanMemory()
        self._stats: dict[str, CampaignStats] = {}
        self._calls: dict[str, Call] = {}
        self._starting: dict[str, str] = {}
        """Dials leased and not placed yet (waiting for their trunk's token): call id →
        campaign id. The planner counts them as ringing."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._capacity = FleetCapacity(hosts={}, busy_elapsed=())
        self.last_tick_at: datetime | None = None
        self.last_tick_s: float | None = None
        self.tick_overruns = 0
        """Ticks that took longer than `tick_s` (the loop then starts the next one late)."""
        self.failures: list[BaseException] = []
        """Dial tasks that died on an unexpected error (also logged and counted)."""

    # -- what /health shows ----------------------------------------------------------------------

    @property
    def leader(self) -> bool:
        return self.token is not None

    @property
    def in_flight(self) -> int:
        return len(self._calls)

    @property
    def buffered_writes(self) -> int:
        """Writes of calls in progress kept until MongoDB is back."""
        return self._stores.buffered

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
            if self.last_tick_s > self._tick_s:
                self.tick_overruns += 1
                self.metrics.tick_overruns.inc()
            self.metrics.in_flight.set(len(self._calls))

    async def _tick(self, now: datetime) -> TickReport:
        # Writes kept while MongoDB was down go first: they are older than anything below.
        self.metrics.buffered.set(await self._stores.flush())
        try:
            took_over = await self._hold_lock()
        except self._unavailable as error:
            # Leadership unknown: dial nothing (each dial asks the lock again, and fails too),
            # but keep the calls in progress leased; the store refuses it if a standby has
            # taken over meanwhile.
            log.warning("leader lock unreachable: %s", error)
            self.metrics.store_errors.labels("leader_lock").inc()
            await self._renew_leases(now)
            return TickReport(leader=False)
        self.metrics.ticks.labels("leader" if self.leader else "standby").inc()
        if took_over:
            self._reconciled = False
        if not self.leader:
            await self._renew_leases(now)
            return TickReport(leader=False)
        campaigns = await self._running_campaigns()
        if not self._reconciled and campaigns is not None:
            # Calls a previous leader left are closed out or adopted before anything is
            # dialled; until that has succeeded (the store may be down), every tick tries again.
            # However long that takes, the leader lock is renewed meanwhile.
            async with self._lock_kept():
                self._reconciled = await self._reconcile(campaigns, now)
            if not self.leader:
                return TickReport(leader=False)
        await self._renew_leases(now)
        if not self._reconciled or campaigns is None:
            return TickReport(leader=True)
        await self._recover_now_and_then(campaigns, now)
        try:
            slots = await self._slots.slots()
        except self._unavailable as error:
            # No capacity data, so nothing to plan with: no new dials until Redis is back.
            log.warning("slot registry unreachable: %s", error)
            self.metrics.store_errors.labels("slots").inc()
            return TickReport(leader=True)
        self._capacity = summarize(await self._usable(slots, now), now, self._staleness)
        await self._follow_attached(slots, now)
        try:
            paused, tenants, trunks = await self._limits(now)
        except (*self._stores.unavailable, *self._unavailable) as error:
            # Tenant caps and trunk limits unknown: planning without them could break them.
            log.warning("no new dials: tenants or trunks unreadable (%s)", error)
            self.metrics.store_errors.labels("limits").inc()
            return TickReport(leader=True)
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
        leased: dict[str, int] = {}
        token = self.token
        wanted = [
            (campaign, plan.dials[campaign.id])
            for campaign in campaigns
            if plan.dials.get(campaign.id, 0) > 0
        ]
        if wanted and token is not None:
            # One batch for the whole tick: its round trips do not grow four to a campaign, and
            # the store reads the leader fence once, after every lease of the batch is written.
            try:
                batch = await self._stores.run(
                    partial(
                        self._leases.lease_many,
                        wanted,
                        self.owner,
                        now,
                        self._lease_ttl,
                        Fence(self.shard, token),
                    )
                )
            except self._stores.unavailable as error:
                log.warning("no new leases: the contact store is unreachable (%s)", error)
                self.metrics.store_errors.labels("lease").inc()
                batch = {}
            except FencedOut as fenced:
                log.warning("%s: a newer leader has taken over", fenced)
                self.token = None
                batch = {}
            by_id = {campaign.id: campaign for campaign, _ in wanted}
            for campaign_id, leases in batch.items():
                leased[campaign_id] = len(leases)
                for lease in leases:
                    call_id = self._new_call_id()
                    self._starting[call_id] = campaign_id
                    self._spawn(self._dial(by_id[campaign_id], lease, token, call_id))
        return TickReport(
            leader=True, pool=self._capacity.total, planned=dict(plan.dials), leased=leased
        )

    async def _usable(self, slots: list[Slot], now: datetime) -> list[Slot]:
        """The slots of the hosts new calls may go to (a disabled or unlisted host's calls are
        still followed, from every slot)."""
        if self._fleet_hosts is None:
            return slots
        hosts = await self._fleet_hosts.usable(now)
        return [slot for slot in slots if slot.host in hosts]

    async def _running_campaigns(self) -> list[Campaign] | None:
        """The running campaigns; None if the store cannot be reached (then nothing new is
        leased, and calls in flight are followed with the campaigns as last read)."""
        try:
            self._running = await self._stores.run(self._campaigns.running)
        except self._stores.unavailable as error:
            log.warning("campaigns unreadable: %s", error)
            self.metrics.store_errors.labels("campaigns").inc()
            return None
        return self._running

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

    @contextlib.asynccontextmanager
    async def _lock_kept(self) -> AsyncIterator[None]:
        """Renew the leader lock every third of its TTL while the block runs (a take-over's
        recovery can outlast the TTL on a slow store); a lock found lost ends this dialler's
        lead, and the store refuses the rest of the block's writes (they are fenced)."""
        task = asyncio.get_running_loop().create_task(self._keep_renewing())
        try:
            yield
        finally:
            await cancel_and_wait(task)

    async def _keep_renewing(self) -> None:
        every = self._leader_ttl.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            token = self.token
            if token is None:
                return
            try:
                renewed = await self._lock.renew(self.shard, self.owner, token, self._leader_ttl)
            except self._unavailable as error:
                log.warning("leader lock unreachable during the take-over: %s", error)
                continue
            if not renewed and self.token == token:
                log.warning("lost the leader lock of shard %s during the take-over", self.shard)
                self.token = None
                return

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
        # Dials leased and not yet placed (waiting for their trunk's token) ring from now on.
        ringing.extend(0.0 for key in self._starting.values() if key == campaign.id)
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
        # Through `StoreCalls` like every store read: MongoDB answers off the loop.
        listed = await self._stores.run(self._tenants.all) if self._tenants is not None else []
        tenants = {t.id: Group(t.id, t.weight, t.max_concurrency) for t in listed}
        if self._trunks is None:
            return paused, tenants, None
        self.trunk_guard.update(await self._stores.run(self._trunks.all))
        in_use: dict[str, int] = {}
        if self._channels is not None:
            # Every dialler's calls: shards share a trunk's channels.
            in_use = await self._channels.in_use(self.trunk_guard.known())
        else:
            for call in self._calls.values():
                # A call holds its trunk's channel from the dial until it is over.
                if call.freed_at is None:
                    key = call.campaign.trunk_id
                    in_use[key] = in_use.get(key, 0) + 1
        # Dials waiting for their trunk token will take a channel too.
        trunk_of = {c.id: c.trunk_id for c in self._running}
        for call_id, campaign_id in self._starting.items():
            trunk_id = trunk_of.get(campaign_id)
            if trunk_id is not None and call_id not in self._holding:
                in_use[trunk_id] = in_use.get(trunk_id, 0) + 1
        return paused, tenants, self.trunk_guard.loads(in_use)

    async def _follow_attached(self, slots: list[Slot], now: datetime) -> None:
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
            await self._settle_attached(call, call.attached_at, call.freed_at, now)

    async def _settle_attached(
        self, call: Call, attached_at: datetime, freed_at: datetime, now: datetime
    ) -> None:
        try:
            recorded = await self._stores.run(lambda: self._call_log.get(call.id))
        except self._stores.unavailable:
            return  # the next tick looks again
        if recorded is not None and recorded.disposition is not None:
            slot_s = (freed_at - attached_at).total_seconds()
            self.stats(call.campaign).call_ended(recorded.disposition, slot_s, now.timestamp())
            self._calls.pop(call.id, None)
            return
        if now - freed_at < self._outcome_grace:
            return
        # The worker let go of the call and nobody reported how it ended: its outcome is lost.
        # Closed as failed by the retry policy; no stats are fed, since a guess would skew the
        # abandon rate's denominator.
        log.warning("call %s ended without a reported outcome; closing it as failed", call.id)
        self._calls.pop(call.id, None)
        try:
            await self._finish(call, Disposition.FAILED, now)
        except (StaleLease, FencedOut) as stale:
            log.info("call %s was closed meanwhile: %s", call.id, stale)

    # -- leases of calls in progress ---------------------------------------------------------------

    async def _renew_leases(self, now: datetime) -> None:
        """Extend the lease of every call in progress (ringing, waiting for a worker, attached),
        fenced by its token, so a long call's contact never looks expired; if this dialler dies,
        the leases run out within the lease TTL."""
        await asyncio.gather(*(self._renew(call, now) for call in list(self._calls.values())))
        await self._hold_channels()

    async def _hold_channels(self) -> None:
        """Renew the trunk channel of every call in progress (adopted ones included) and free
        those of calls that are over; with Redis down they run out by themselves."""
        if self._channels is None:
            return
        live: dict[str, list[str]] = {}
        for call in self._calls.values():
            if call.freed_at is None:
                live.setdefault(call.campaign.trunk_id, []).append(call.id)
                self._holding[call.id] = call.campaign.trunk_id
        try:
            for trunk_id, call_ids in live.items():
                await self._channels.hold(trunk_id, call_ids, self._channel_ttl)
            for call_id in [c for c in self._holding if c not in self._calls]:
                await self._release_channel(call_id)
            for call in self._calls.values():
                if call.freed_at is not None and call.id in self._holding:
                    await self._release_channel(call.id)
        except self._unavailable as error:
            log.warning("trunk channels unreachable: %s", error)
            self.metrics.store_errors.labels("channels").inc()

    async def _claim_channel(self, call_id: str, campaign: Campaign) -> bool:
        """A channel of the campaign's trunk for this dial, counted with every dialler's calls;
        whether it may go out."""
        if self._channels is None:
            return True
        trunk = self.trunk_guard.trunk(campaign.trunk_id)
        limit = None if trunk is None else trunk.channels
        try:
            claimed = await self._channels.claim(
                campaign.trunk_id, call_id, limit, self._channel_ttl
            )
        except self._unavailable as error:
            log.warning("call %s not dialled: trunk channels unreachable (%s)", call_id, error)
            self.metrics.store_errors.labels("channels").inc()
            return False
        if not claimed:
            log.info("call %s not dialled: every channel of %s is taken", call_id, trunk)
            self.metrics.channels_full.inc()
            return False
        self._holding[call_id] = campaign.trunk_id
        return True

    async def _release_channel(self, call_id: str) -> None:
        trunk_id = self._holding.pop(call_id, None)
        if trunk_id is None or self._channels is None:
            return
        await self._channels.release(trunk_id, call_id)

    async def _renew(self, call: Call, now: datetime) -> None:
        async with self._gate.shared():
            lease = call.lease
            try:
                renewed = await self._stores.run(
                    lambda: self._leases.renew(lease, now, self._lease_ttl)
                )
            except self._stores.unavailable:
                self.metrics.store_errors.labels("renew").inc()
                return
            except StaleLease as stale:
                await self._lost(call, stale, now)
                return
            if call.lease == lease:
                call.lease = renewed

    async def _lost(self, call: Call, stale: StaleLease, now: datetime) -> None:
        """The contact of a call in progress is no longer this dialler's: the API closed it with
        the worker's reported outcome, or a newer leader took it over. An attached call is
        settled from the call log if its outcome is there; a dial still running finds out at
        its next write. Either way it is no longer this dialler's to renew or count."""
        if call.attached_at is None:
            log.info("call %s is no longer ours: %s", call.id, stale)
            self._calls.pop(call.id, None)
            return
        freed_at = call.freed_at or now
        try:
            recorded = await self._stores.run(lambda: self._call_log.get(call.id))
        except self._stores.unavailable:
            return
        if recorded is not None and recorded.disposition is not None:
            slot_s = (freed_at - call.attached_at).total_seconds()
            self.stats(call.campaign).call_ended(recorded.disposition, slot_s, now.timestamp())
        else:
            log.info("call %s is no longer ours: %s", call.id, stale)
        self._calls.pop(call.id, None)

    # -- taking a shard over -----------------------------------------------------------------------

    async def _reconcile(self, campaigns: list[Campaign], now: datetime) -> bool:
        """Make the store refuse the previous leader's writes, then deal with every contact the
        shard's leases hold: this dialler's own calls keep going under the new stamp; contacts
        leased but never dialled are given back; calls on a worker are adopted and followed;
        calls ringing or waiting for a worker, whose dialler is gone, are closed out as failed
        by the retry policy and their rooms deleted. Then rooms of the dialler's scheme that no
        call owns are deleted. Whether it is done (False: try again next tick)."""
        try:
            async with self._gate.exclusive():
                contacts = await self._take_over(now)
            if contacts is None:
                return False
            by_id = {campaign.id: campaign for campaign in campaigns}
            ours = {call.lease.token: call for call in self._calls.values()}
            closed: dict[str, list[str]] = {}
            try:
                for contact in contacts:
                    await self._settle_left(contact, by_id, ours, now, closed)
            finally:
                await self._free_closed_channels(closed)
            # Contacts leased outside any shard's fence whose lease ran out mid-call.
            swept = await self._stores.run(
                partial(self._leases.recover_expired_many, campaigns, now)
            )
            for recovered in swept.values():
                for contact in recovered:
                    log.info("recovered contact %s left in a call", contact.id)
        except self._stores.unavailable as error:
            log.warning("taking shard %s over must wait for the store: %s", self.shard, error)
            self.metrics.store_errors.labels("take_over").inc()
            return False
        await self._delete_orphan_rooms()
        return True

    async def _recover_now_and_then(self, campaigns: list[Campaign], now: datetime) -> None:
        """Every `recover_every` ticks, close out calls whose lease ran out anyway (renewals
        missed through a MongoDB outage longer than the lease TTL): nothing stays leased
        forever, even while this dialler keeps the lead."""
        self._ticks_to_recovery -= 1
        if self._ticks_to_recovery > 0:
            return
        self._ticks_to_recovery = self._recover_every
        try:
            # One batch: a sweep per campaign would be a round trip per running campaign.
            swept = await self._stores.run(
                partial(self._leases.recover_expired_many, campaigns, now)
            )
        except self._stores.unavailable:
            self.metrics.store_errors.labels("recover").inc()
            return
        for recovered in swept.values():
            for contact in recovered:
                log.warning("recovered contact %s whose lease ran out mid-call", contact.id)

    async def _take_over(self, now: datetime) -> list[Contact] | None:
        token = self.token
        if token is None:
            return None
        try:
            return await self._stores.run(
                lambda: self._leases.take_over(Fence(self.shard, token), now)
            )
        except FencedOut as fenced:
            # The store has seen this token or a newer one although this dialler holds the lock
            # now (the lock's counter was lost, or a take-over's answer was): move past it.
            reissued = await self._lock.reissue(
                self.shard, self.owner, token, fenced.newest, self._leader_ttl
            )
            if reissued is None:
                self.token = None
                return None
            log.info("shard %s: token %s reissued as %s", self.shard, token, reissued)
            self.token = reissued
            return await self._stores.run(
                lambda: self._leases.take_over(Fence(self.shard, reissued), now)
            )

    async def _settle_left(
        self,
        contact: Contact,
        campaigns: Mapping[str, Campaign],
        ours: Mapping[str, Call],
        now: datetime,
        closed: dict[str, list[str]],
    ) -> None:
        """`closed`: per trunk, the calls closed out here after their room was deleted."""
        lease = contact.lease
        if lease is None:
            return
        call = ours.get(lease.token)
        if call is not None:
            call.lease = lease
            return
        if contact.state is ContactState.LEASED:
            await self._stores.run(lambda: self._leases.release(lease, now))
            self.metrics.reconciled.labels("released").inc()
            return
        campaign = campaigns.get(contact.campaign_id) or await self._stores.run(
            lambda: self._campaigns.get(contact.campaign_id)
        )
        attempts = await self._stores.run(lambda: self._call_log.for_contact(contact.id))
        attempt = next((a for a in reversed(attempts) if a.lease_token == lease.token), None)
        if campaign is None:
            log.error("contact %s: its campaign %s is gone", contact.id, contact.campaign_id)
            return
        if contact.state is ContactState.ATTACHED and attempt is not None:
            adopted = Call(
                attempt.id,
                campaign,
                lease,
                attempt,
                room=room_of(attempt.id),
                answered=True,
                attached_at=attempt.attached_at or now,
            )
            self._calls[adopted.id] = adopted
            self.metrics.reconciled.labels("adopted").inc()
            return
        # Ringing or waiting for a worker when its dialler went away: nobody will finish it.
        hung_up = False
        if attempt is not None:
            try:
                await self._telephony.hang_up(attempt.id, room_of(attempt.id))
                hung_up = True
            except TelephonyError as error:
                log.warning("call %s: could not delete its room: %s", attempt.id, error)
        if attempt is None:
            # Its dialler died between counting the attempt and recording it: the record says
            # what is known, a dial of unknown fate.
            attempt = CallAttempt(
                id=f"lost-{lease.token}",
                contact_id=contact.id,
                campaign_id=campaign.id,
                tenant_id=campaign.tenant_id,
                number=contact.attempts,
                lease_token=lease.token,
                dialed_at=now,
            )
        await self._stores.run(
            lambda: self._leases.complete(lease, campaign, Disposition.FAILED, now)
        )
        ended = attrs.evolve(
            attempt, ended_at=attempt.ended_at or now, disposition=Disposition.FAILED
        )
        await self._stores.run(lambda: self._call_log.record(ended))
        self.metrics.reconciled.labels("closed").inc()
        if hung_up:
            # Its channel is free now; a call whose room may still be up keeps its hold until
            # the channel TTL, so the trunk is never counted below what it carries.
            closed.setdefault(campaign.trunk_id, []).append(attempt.id)

    async def _free_closed_channels(self, closed: Mapping[str, list[str]]) -> None:
        """Free at once the trunk channels of the calls a take-over closed out (their dead
        dialler's holds would otherwise linger for the channel TTL, and this dialler under-dial
        meanwhile), and bar their old holder from taking them back. Exactly those calls: other
        diallers' calls on the same trunks keep their channels."""
        if self._channels is None:
            return
        # The old holder stops holding a closed call at its first lease renewal the store
        # refuses, a tick after it thaws; a hold it sends after a longer pause than the bar
        # only over-counts the trunk until then, never under-counts it.
        barred = max(self._lease_ttl, self._channel_ttl)
        for trunk_id, call_ids in closed.items():
            try:
                await self._channels.close_out(trunk_id, call_ids, barred)
            except self._unavailable as error:
                log.warning("trunk %s: channels of closed calls not freed: %s", trunk_id, error)
                self.metrics.store_errors.labels("channels").inc()

    async def _delete_orphan_rooms(self) -> None:
        if self._rooms is None:
            return
        try:
            names = await self._rooms.open_rooms(ROOM_PREFIX)
        except TelephonyError as error:
            log.warning("could not list the provider's rooms: %s", error)
            return
        owned = {call.room for call in self._calls.values()}
        for name in names:
            if name in owned:
                continue
            call_id = name.removeprefix(ROOM_PREFIX)
            if self._shards > 1 and not await self._of_this_shard(call_id):
                continue
            try:
                await self._telephony.hang_up(call_id, name)
            except TelephonyError as error:
                log.warning("could not delete the orphan room %s: %s", name, error)
                continue
            self.metrics.reconciled.labels("orphan_room").inc()

    async def _of_this_shard(self, call_id: str) -> bool:
        """Whether the call of a room is this shard's: other shards' leaders dial through the
        same provider, and their calls' rooms are theirs to close. A call not in the call log
        (or the log unreachable) cannot be told: its room is left alone."""
        try:
            attempt = await self._stores.run(lambda: self._call_log.get(call_id))
        except self._stores.unavailable:
            return False
        return attempt is not None and shard_of(attempt.campaign_id, self._shards) == int(
            self.shard
        )

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

    async def _dial(
        self, campaign: Campaign, lease: Lease, token: int | None, call_id: str
    ) -> None:
        try:
            try:
                # The trunk's calls-per-second token before anything else: waiting for it is
                # not ring time, and the leader lock is renewed after it, just before the dial.
                await self.trunk_guard.admit(call_id, campaign.trunk_id)
            except self._unavailable as error:
                log.warning(
                    "call %s not dialled: the trunk's rate limiter is unreachable: %s",
                    call_id,
                    error,
                )
                await self._release(lease, self._clock.now())
                return
            if not await self._claim_channel(call_id, campaign):
                await self._release(lease, self._clock.now())
                return
            await self._dial_admitted(campaign, lease, token, call_id)
        finally:
            self._starting.pop(call_id, None)
            self.trunk_guard.forget(call_id)
            call = self._calls.get(call_id)
            if call is None or call.freed_at is not None:
                try:
                    await self._release_channel(call_id)
                except self._unavailable as error:
                    # Its hold runs out by itself within the channel TTL.
                    log.warning("call %s: trunk channel not freed: %s", call_id, error)

    async def _dial_admitted(
        self, campaign: Campaign, lease: Lease, token: int | None, call_id: str
    ) -> None:
        # The leader token is checked with the lock itself before every dial, not only each
        # tick: a leader paused (GC, SIGSTOP) between its tick and this task must not dial once
        # a standby has taken over. The store checks it again with the `dialing` write.
        unreachable = False
        try:
            leading = (
                token is not None
                and self.token == token
                and await self._lock.renew(self.shard, self.owner, token, self._leader_ttl)
            )
        except self._unavailable as error:
            log.warning("leader lock unreachable before a dial: %s", error)
            leading, unreachable = False, True
        now = self._clock.now()
        if not leading:
            if self.token == token and not unreachable:
                self.token = None
            log.warning("not leading shard %s: giving back %s", self.shard, lease.contact_id)
            await self._release(lease, now)
            return
        try:
            contact = await self._stores.run(lambda: self._leases.get(lease.contact_id))
        except self._stores.unavailable:
            await self._release(lease, now)
            return
        if contact is None:
            raise LookupError(f"leased contact {lease.contact_id} is not in the store")
        attempt = CallAttempt(
            id=call_id,
            contact_id=contact.id,
            campaign_id=campaign.id,
            tenant_id=campaign.tenant_id,
            number=contact.attempts + 1,
            lease_token=lease.token,
            dialed_at=now,
        )
        call = Call(call_id, campaign, lease, attempt, room=room_of(call_id))
        self._calls[call_id] = call
        self._starting.pop(call_id, None)
        try:
            async with self._gate.shared():
                # Made now or not at all: no dial goes out before its attempt is counted.
                await self._stores.run(
                    lambda: self._leases.advance(call.lease, ContactState.DIALING, now)
                )
            # A new call id: nobody else has written this attempt, so it is written as is.
            await self._record(call, first=True)
            await self._place(call, contact.phone, contact.variables)
        except self._stores.unavailable as error:
            log.warning(
                "call %s not dialled: the contact store is unreachable (%s)", call_id, error
            )
            self._calls.pop(call_id, None)
            await self._release(call.lease, now)
        except (StaleLease, FencedOut) as stale:
            # Another holder's token owns the contact now, or a newer leader the shard: nothing
            # of ours may be written.
            log.warning("call %s lost its lease: %s", call_id, stale)
            self._calls.pop(call_id, None)
        finally:
            if call.attached_at is None:
                self._calls.pop(call_id, None)

    async def _release(self, lease: Lease, now: datetime) -> None:
        """Give back a contact leased and never dialled; a newer leader may have done so
        already, or will (it releases what the shard leased and nobody dialled)."""
        try:
            await self._stores.write(
                lease.contact_id,
                f"release of {lease.contact_id}",
                lambda: self._leases.release(lease, now),
            )
        except (StaleLease, InvalidTransition) as refused:
            log.info("contact %s: %s", lease.contact_id, refused)

    async def _write(self, call: Call, what: str, write: Callable[[], object]) -> None:
        """A write of a call in progress: made now, or kept until the store is back."""
        async with self._gate.shared():
            await self._stores.write(call.lease.contact_id, f"{what} of call {call.id}", write)

    async def _record(self, call: Call, *, first: bool = False) -> None:
        """Write the call's record, after asking the store whether the leader that stamped the
        call's lease still leads its shard (`FencedOut` if not, and nothing is written).

        Every record follows a contact write the store fenced, but a leader can be paused
        between the two; the check keeps a replaced leader from writing a record after it (the
        first record comes before the dial, so neither is the dial placed). Check and write are
        two round trips, not one atomic step: a leader paused exactly between them still writes
        that one record. It cannot undo the new leader's: `record_growth` only fills in fields
        still unset (`keep_recorded`), and the first record has a call id nobody else uses."""
        attempt = call.attempt

        def write() -> None:
            # The lease as it is when the write is made: a take-over by this dialler restamps it.
            lease = call.lease
            if lease.shard is not None and lease.leader_token is not None:
                self._leases.check_leader(Fence(lease.shard, lease.leader_token))
            if first:
                self._call_log.record(attempt)
            else:
                record_growth(self._call_log, attempt)

        await self._write(call, "call log", write)

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
            await self._give_back(call, now)
            return
        except TelephonyError as error:
            now = self._clock.now()
            reason = "refused" if isinstance(error, TelephonyRefused) else "provider_error"
            log.error("dial %s not placed (%s): %s", call.id, reason, error)
            await self._not_placed(call, now, reason)
            return
        now = self._clock.now()
        ring_s = max(0.0, (now - call.attempt.dialed_at).total_seconds())
        if result.answered_at is None:
            disposition = result.disposition or Disposition.FAILED
            stats.dial_resolved(False, ring_s, now.timestamp())
            self.metrics.dials.labels(disposition.value).inc()
            await self._finish(call, disposition, now)
            return
        stats.dial_resolved(True, ring_s, now.timestamp())
        self.metrics.dials.labels("answered").inc()
        call.answered = True
        call.attempt = attrs.evolve(call.attempt, answered_at=result.answered_at)
        # The callee hears silence from the answer on: the worker is sought at once and the
        # answer written beside it, so a slow store never eats into the abandon budget.
        answer_written = asyncio.ensure_future(self._write_answer(call, now))
        try:
            host = await self._find_worker(call, variables)
        except BaseException:
            await answer_written
            raise
        if host is None:
            await self._abandon(call, self._clock.now(), answer_written)
            return
        attached_at = self._clock.now()
        # The contact goes answered, then attached: the attach is written after the answer.
        await answer_written
        await self._attached(call, host, attached_at)

    async def _write_answer(self, call: Call, now: datetime) -> None:
        await self._write(
            call, "answer", lambda: self._leases.advance(call.lease, ContactState.ANSWERED, now)
        )
        await self._record(call)

    async def _find_worker(self, call: Call, variables: Mapping[str, str]) -> str | None:
        """The fleet host that took the call within the attach budget, or None."""
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
        try:
            async with asyncio.timeout(self._attach_budget_s):
                result = await self._fleet.attach(request, self._capacity.attach_order())
        except TimeoutError:
            log.warning("call %s: no worker within %.1f s", call.id, self._attach_budget_s)
            return None
        except AttachRefused as refused:
            log.error("call %s: %s", call.id, refused)
            return None
        return result.host if result.accepted else None

    async def _attached(self, call: Call, host: str, now: datetime) -> None:
        call.attached_at = now
        await self._write(
            call, "attach", lambda: self._leases.advance(call.lease, ContactState.ATTACHED, now)
        )
        call.attempt = attrs.evolve(call.attempt, attached_at=now, worker=host)
        await self._record(call)
        self.metrics.dials.labels("attached").inc()

    async def _abandon(self, call: Call, now: datetime, answer_written: Awaitable[None]) -> None:
        """No worker in time: say the campaign's abandon message, end the call and count it;
        the retry policy keeps the number from being dialled again for at least 72 hours
        (`RetryPolicy.abandoned_after`). The callee is let go without waiting for the answer's
        writes; the outcome is written after them."""
        self.metrics.dials.labels("abandoned").inc()
        try:
            await self._say_abandon_message(call)
            await self._telephony.hang_up(call.id, call.room)
        finally:
            # Counted even if the hang-up failed: the callee was abandoned either way.
            self.stats(call.campaign).call_ended(Disposition.ABANDONED, None, now.timestamp())
            await answer_written
            await self._finish(call, Disposition.ABANDONED, now)

    async def _say_abandon_message(self, call: Call) -> None:
        text = call.campaign.abandon_message
        if not text or self._abandon_messages is None:
            self.metrics.abandon_messages.labels("none").inc()
            return
        try:
            async with asyncio.timeout(self._abandon_message_budget_s):
                await self._abandon_messages.play(call.id, call.room, text)
        except (TimeoutError, TelephonyError) as error:
            log.error("call %s: the abandon message was not played: %r", call.id, error)
            self.metrics.abandon_messages.labels("failed").inc()
            return
        self.metrics.abandon_messages.labels("played").inc()

    async def _finish(self, call: Call, disposition: Disposition, now: datetime) -> None:
        campaign = call.campaign
        await self._write(
            call,
            f"{disposition.value} outcome",
            lambda: self._leases.complete(call.lease, campaign, disposition, now),
        )
        call.attempt = attrs.evolve(call.attempt, ended_at=now, disposition=disposition)
        await self._record(call)

    async def _give_back(self, call: Call, now: datetime) -> None:
        """The trunk was throttled: see `_not_placed`."""
        await self._not_placed(call, now, "throttled")

    async def _not_placed(self, call: Call, now: datetime, reason: str) -> None:
        """The provider turned the dial down before it reached anyone: the contact is ready again
        with the attempt taken back (`undial`), no stats are fed, and the call log says so
        (`not_placed`, no disposition) instead of showing a failed attempt."""
        self.metrics.not_placed.labels(reason).inc()
        await self._write(call, "undial", lambda: self._leases.undial(call.lease, now))
        call.attempt = attrs.evolve(call.attempt, ended_at=now, not_placed=reason)
        await self._record(call)

    async def close(self) -> None:
        """Let every dial finish, then give up the leader lock so a standby need not wait for
        its TTL."""
        await self.wait_idle()
        if self.token is not None:
            await self._lock.release(self.shard, self.owner, self.token)
            self.token = None
