"""What a dialler tick costs at scale, and how long an answered call waits for a worker.

    make bench-dialler
    python -m bench.dialler --campaigns 1000 --slots 10000 --ticks 10 --attaches 200

Three tables:

1. **Planning** (`plan_tick` alone, the domain part): `--campaigns` running campaigns over
   `--slots` slots, 100 trunks and 20 tenants, each campaign holding calls and dials in flight,
   for predictive and progressive pacing, on one core. The predictive pacer as every role runs
   it (compiled by mypyc when built: `scripts/build_native.py`), its source interpreted, and the
   plain formulas it must equal.
2. **Whole tick**: the dialler's `tick()` on real servers: campaigns, contacts, tenants and the
   call log in a Mongo-wire server (SecantusDB, started here; `VOX_TEST_MONGO_URL` for a real
   `mongod`), `--slots` worker slots, the leader lock, the pause switch and the trunk channel
   counts in Redis (Valkey or redis-server, started here). Labelled fakes: the trunks are an
   in-memory table (no trunk store adapter on this branch), telephony is the in-memory
   `FakeTelephony` with every callee ringing out at once (no LiveKit), and the fleet client is
   never reached (nobody answers). The first tick, which also closes out what a previous leader
   left (`recover_expired` for every campaign), is shown apart. The dial tasks a tick starts run
   after it returns; their time to finish is the last column.
3. **Answer to attach**: `HttpFleetClient.attach` to real fleet workers (`apps.fleet` under
   Granian, one process per Unix socket, Redis slots, SeaweedFS S3 for recordings), one after
   another, each to the hosts in `attach_order()` of the registry as the dialler reads it. Each
   worker is its own host, reached on its socket directly (no nginx in front).

SecantusDB is a test server written in Python: the whole-tick figures say where a tick's time
goes and how it grows, not how fast MongoDB is. The machine's other load shows in every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import inspect
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any, cast

import attrs
import httpx
import pymongo
import pymongo.monitoring
from pymongo.database import Database
from redis.asyncio import Redis

import voxcore_domain.pacing
from apps.dialler.loop import Dialler
from bench.pacing_builds import is_compiled, pure
from bench.plain_pacing import plain_pacer_for
from voxcore_adapters import mongo, redis
from voxcore_adapters.fakes import Callee, FakeTelephony
from voxcore_adapters.fleet.http import HttpFleetClient
from voxcore_adapters.mongo.documents import Document
from voxcore_adapters.s3 import S3Connection
from voxcore_adapters.testing import mongo_server
from voxcore_adapters.testing.asgi_server import healthy_on, spawn_worker, stop_worker
from voxcore_adapters.testing.redis_server import redis_url
from voxcore_adapters.testing.s3_server import s3_server
from voxcore_domain.dialplan import CampaignLoad, PlanMemory, plan_tick
from voxcore_domain.estimators import CampaignStats
from voxcore_domain.fairshare import Group
from voxcore_domain.model import (
    CallingWindow,
    Campaign,
    CampaignState,
    Contact,
    Disposition,
    PacingKind,
    PacingMode,
    PacingSettings,
    Slot,
    SlotState,
    Tenant,
)
from voxcore_domain.pacing import Pacer, pacer_for
from voxcore_domain.ports import AttachRequest, AttachResult
from voxcore_domain.slots import summarize
from voxcore_domain.trunklimits import TrunkLoad
from voxcore_domain.trunks import Trunk

TRUNKS = 100
TENANTS = 20
TICK_S = 2.0
REPO = Path(__file__).resolve().parents[1]


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def ms(values: Sequence[float]) -> str:
    return (
        f"{1000 * statistics.median(values):>8.1f}  {1000 * percentile(values, 0.95):>8.1f}"
        f"  {1000 * max(values):>8.1f}"
    )


# -- 1. planning -----------------------------------------------------------------------------


@attrs.frozen
class Planning:
    """One run of table 1: seconds per `plan_tick`."""

    cold: float
    """The first tick, every snapshot new: the pacer keeps what it works out of each campaign's
    snapshot, which the dialler rebuilds every minute."""
    wall: list[float]
    """Each later tick, on the clock."""
    cpu: list[float]
    """Each later tick, in this thread's processor time: less moved by the machine's other
    work than the clock."""


def planning(
    campaigns: int,
    slots: int,
    ticks: int,
    mode: str,
    strategies: Callable[[PacingMode], Pacer] = pacer_for,
) -> Planning:
    """`plan_tick` over `ticks` ticks after a first one with cold caches."""
    rng = random.Random(1)
    t0 = 1_767_600_000.0
    stats = []
    for _ in range(campaigns):
        s = CampaignStats()
        t = t0 - 3600.0
        for _ in range(300):
            t += 10.0
            answered = rng.random() < 0.25
            s.dial_resolved(answered, rng.uniform(2.0, 20.0), t)
            if answered:
                s.call_ended(Disposition.COMPLETED, rng.expovariate(1 / 120), t)
        stats.append(s)
    per = max(1, slots // campaigns)
    trunks = {
        f"tr{j}": TrunkLoad(Trunk(f"tr{j}", "t", f"tr{j}", "ST", cps=5.0, channels=400), in_use=200)
        for j in range(TRUNKS)
    }
    tenants = {f"t{k}": Group(f"t{k}", 1.0 + k % 3) for k in range(TENANTS)}
    pacing = PacingMode.parse(mode)
    memory = PlanMemory()
    times, cpu = [], []
    # Each campaign's calls and dials, as (start, end): they age tick by tick, and one that has
    # ended is replaced by a new one, as in a running dialler.
    calls = [[_call(rng, t0, 120.0) for _ in range(per - 1)] for _ in range(campaigns)]
    dials = [[_call(rng, t0, 10.0) for _ in range(3)] for _ in range(campaigns)]
    for tick in range(ticks + 1):
        now = t0 + TICK_S * tick
        loads = []
        for i in range(campaigns):
            calls[i] = [
                c if c[1] > now else (now, now + rng.expovariate(1 / 120)) for c in calls[i]
            ]
            dials[i] = [d if d[1] > now else (now, now + rng.uniform(2.0, 20.0)) for d in dials[i]]
            busy = tuple(now - start for start, _ in calls[i])
            loads.append(
                CampaignLoad(
                    campaign_id=f"c{i:05d}",
                    tenant_id=f"t{i % TENANTS}",
                    mode=pacing,
                    stats=stats[i].snapshot(now, busy),
                    busy_elapsed=busy,
                    ringing_elapsed=tuple(now - start for start, _ in dials[i]),
                    trunk_id=f"tr{i % TRUNKS}",
                )
            )
        started, started_cpu = time.perf_counter(), time.thread_time()
        plan = plan_tick(
            now,
            slots,
            loads,
            tenants,
            memory=memory,
            tick_s=TICK_S,
            trunks=trunks,
            strategies=strategies,
        )
        cpu.append(time.thread_time() - started_cpu)
        times.append(time.perf_counter() - started)
        memory = plan.memory
    return Planning(times[0], times[1:], cpu[1:])


def planning_rounds(
    campaigns: int, slots: int, ticks: int, rounds: int
) -> dict[str, list[Planning]]:
    """Table 1's runs, the variants taking turns round by round so that a burst of the
    machine's other work falls on each alike."""
    variants: dict[str, tuple[str, Callable[[PacingMode], Pacer]]] = {
        "predictive": ("predictive", pacer_for),
    }
    if is_compiled(voxcore_domain.pacing):
        variants["predictive, pure"] = ("predictive", _pure_pacer_for)
    variants["predictive, plain"] = ("predictive", plain_pacer_for)
    variants["progressive"] = ("progressive", pacer_for)
    runs: dict[str, list[Planning]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, (mode, strategies) in variants.items():
            runs[name].append(planning(campaigns, slots, ticks, mode, strategies))
    return runs


@functools.cache
def _pure_predictive() -> Pacer:
    # The source's own instance, as its `pacer_for` hands it out: its settings are read once.
    return cast(Pacer, pure().pacer_for(PacingMode(PacingKind.PREDICTIVE)))


def _pure_pacer_for(mode: PacingMode) -> Pacer:
    """`pacer_for`, with the pure-Python source's predictive pacer."""
    return _pure_predictive() if mode.kind is PacingKind.PREDICTIVE else pacer_for(mode)


def _call(rng: random.Random, now: float, mean_s: float) -> tuple[float, float]:
    """A call or dial in progress: started a while ago, ending some time from now."""
    age = rng.expovariate(1 / mean_s)
    return now - age, now + rng.expovariate(1 / mean_s)


# -- 2. the whole tick -------------------------------------------------------------------------


class TrunkTable:
    """The `Trunks` port over a dict (labelled in the output: no trunk store on this branch)."""

    def __init__(self, trunks: Iterable[Trunk]) -> None:
        self._trunks = {t.id: t for t in trunks}

    def put(self, trunk: Trunk) -> None:
        self._trunks[trunk.id] = trunk

    def get(self, trunk_id: str) -> Trunk | None:
        return self._trunks.get(trunk_id)

    def of_tenant(self, tenant_id: str) -> list[Trunk]:
        return [t for t in self._trunks.values() if t.tenant_id == tenant_id]

    def all(self) -> list[Trunk]:
        return list(self._trunks.values())

    def delete(self, trunk_id: str) -> bool:
        return self._trunks.pop(trunk_id, None) is not None


class NoAnswers:
    """`FleetClient` that fails loudly: in this run nobody answers, so it must not be called."""

    async def attach(self, request: AttachRequest, hosts: Sequence[str]) -> AttachResult:
        raise AssertionError("no call is answered in the tick bench")


class UtcClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Timed:
    """Wraps a port and adds the time each of its methods takes to `spent` (by port.method)."""

    def __init__(self, name: str, inner: Any, spent: dict[str, float]) -> None:
        self._name = name
        self._inner = inner
        self._spent = spent

    def __getattr__(self, attribute: str) -> Any:
        method = getattr(self._inner, attribute)
        key = f"{self._name}.{attribute}"
        if inspect.iscoroutinefunction(method):

            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await method(*args, **kwargs)
                finally:
                    self._spent[key] = self._spent.get(key, 0.0) + time.perf_counter() - started

            return timed_async

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self._spent[key] = self._spent.get(key, 0.0) + time.perf_counter() - started

        return timed


class RoundTrips(pymongo.monitoring.CommandListener):
    """Counts the commands sent to MongoDB, by name, and to Redis (a connection taken from the
    pool: one command, or one pipeline or script)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def started(self, event: pymongo.monitoring.CommandStartedEvent) -> None:
        key = f"mongo {event.command_name}"
        self.counts[key] = self.counts.get(key, 0) + 1

    def succeeded(self, event: pymongo.monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: pymongo.monitoring.CommandFailedEvent) -> None:
        return None

    def count_redis(self, rclient: Redis) -> None:
        pool = rclient.connection_pool
        take: Callable[..., Awaitable[Any]] = pool.get_connection

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.counts["redis"] = self.counts.get("redis", 0) + 1
            return await take(*args, **kwargs)

        pool.get_connection = counted  # type: ignore[method-assign]


@attrs.frozen
class TickRun:
    first: float
    """The first tick: takes the lock and recovers every campaign."""
    ticks: list[float]
    tasks: list[float]
    """After each tick, until its dial tasks are done."""
    dials: list[int]
    spent: dict[str, float]
    """Seconds per port method over the measured ticks (not the dial tasks)."""
    trips: dict[str, int]
    """Round trips over the measured ticks (not the dial tasks), by server and command."""
    first_trips: int
    """Round trips of the first tick."""


async def whole_ticks(campaigns: int, slots: int, ticks: int, contacts: int, cps: float) -> TickRun:
    """The first tick, the later ticks, the dial tasks' time after each, and dials per tick."""
    trips = RoundTrips()
    with mongo_server.mongo_url() as murl, redis_url() as rurl:
        client: pymongo.MongoClient[Document] = pymongo.MongoClient(
            murl, tz_aware=True, tzinfo=UTC, event_listeners=[trips]
        )
        db = client.get_database(f"vox_bench_dialler_{uuid.uuid4().hex[:6]}")
        rclient = redis.connect(rurl)
        trips.count_redis(rclient)
        try:
            return await _ticks(db, rclient, campaigns, slots, ticks, contacts, cps, trips)
        finally:
            await rclient.aclose()
            client.drop_database(db.name)
            client.close()


async def _ticks(
    db: Database[Document],
    rclient: Redis,
    campaigns: int,
    slots: int,
    ticks: int,
    contacts: int,
    cps: float,
    trips: RoundTrips,
) -> TickRun:
    now = datetime.now(UTC)
    mongo.ensure_indexes(db)
    window = CallingWindow(clock_time(0), clock_time.max)
    store = mongo.MongoCampaigns(db)
    tenants = mongo.MongoTenants(db)
    telephony = FakeTelephony()
    for k in range(TENANTS):
        tenants.put(Tenant(f"t{k}", f"Tenant {k}", weight=1.0 + k % 3))
    rows = []
    for i in range(campaigns):
        campaign = Campaign(
            id=f"c{i:05d}",
            tenant_id=f"t{i % TENANTS}",
            name=f"Campaign {i}",
            agent_id="a1",
            trunk_id=f"tr{i % TRUNKS}",
            caller_id="+14155550100",
            window=window,
            pacing=PacingSettings(mode="progressive"),
            state=CampaignState.RUNNING,
        )
        store.put(campaign)
        for j in range(contacts):
            phone = f"+1415{i:04d}{j:03d}"
            telephony.script(phone, Callee.no_answer())
            rows.append(Contact(f"k{i:05d}-{j:03d}", campaign.id, campaign.tenant_id, phone, now))
    report = mongo.MongoContactImport(db).import_contacts(rows)
    if report.duplicates:
        raise RuntimeError(f"seeding refused {len(report.duplicates)} rows")
    registry = redis.RedisSlotRegistry(rclient, "bench")
    for n in range(slots):
        # Most slots are busy with calls of a dialler before this one, as in a running fleet.
        state = SlotState.IDLE if n % 10 == 0 else SlotState.BUSY
        busy = state is SlotState.BUSY
        slot = Slot(
            f"h{n // 100:03d}",
            f"w{n % 100:02d}",
            state,
            now,
            call_id=f"old-{n}" if busy else None,
            busy_since=now if busy else None,
        )
        await registry.heartbeat(slot, timedelta(hours=1))
    spent: dict[str, float] = {}
    dialler = Dialler(
        campaigns=Timed("campaigns", store, spent),
        leases=Timed("leases", mongo.MongoContactLeases(db), spent),
        slots=Timed("slots", registry, spent),
        lock=Timed("lock", redis.RedisLeaderLock(rclient, "bench"), spent),
        telephony=telephony,
        fleet=NoAnswers(),
        call_log=mongo.MongoCallLog(db),
        clock=UtcClock(),
        owner="bench",
        tick_s=TICK_S,
        # Longer than the first tick's recovery on SecantusDB (seconds at 1,000 campaigns):
        # with the default 6 s the lock lapses during it (see README, "Benchmarks").
        leader_ttl=timedelta(seconds=60),
        staleness=timedelta(hours=1),
        trunks=TrunkTable(
            Trunk(f"tr{j}", "t", f"tr{j}", "ST", cps=cps, channels=500) for j in range(TRUNKS)
        ),
        tenants=Timed("tenants", tenants, spent),
        pause=Timed("pause", redis.RedisPauseSwitch(rclient, "bench"), spent),
        # As `main.build`: each trunk's channels counted in Redis across diallers.
        channels=Timed("channels", redis.RedisTrunkChannels(rclient, "bench"), spent),
    )
    first = 0.0
    ticked: dict[str, float] = {}
    later: list[float] = []
    tasks: list[float] = []
    dials: list[int] = []
    tripped: dict[str, int] = {}
    first_trips = 0
    for tick in range(ticks + 1):
        before = dict(spent)
        sent = dict(trips.counts)
        started = time.perf_counter()
        result = await dialler.tick(datetime.now(UTC))
        took = time.perf_counter() - started
        if tick == 0:
            spent.clear()
            first_trips = sum(trips.counts.values()) - sum(sent.values())
        else:
            during = {k: v - before.get(k, 0.0) for k, v in spent.items()}
            for key, seconds in during.items():
                ticked[key] = ticked.get(key, 0.0) + seconds
            for key, n in trips.counts.items():
                tripped[key] = tripped.get(key, 0) + n - sent.get(key, 0)
        await dialler.wait_idle()
        finished = time.perf_counter() - started - took
        if dialler.failures:
            raise RuntimeError(f"dial tasks failed: {dialler.failures[:3]}")
        if tick == 0:
            first = took
        else:
            later.append(took)
            tasks.append(finished)
            dials.append(sum(result.leased.values()))
        # The next tick comes LOOP_INTERVAL_SECONDS after the last began, as in production.
        await asyncio.sleep(max(0.0, TICK_S - took - finished))
    return TickRun(first, later, tasks, dials, ticked, tripped, first_trips)


# -- 3. answer to attach -----------------------------------------------------------------------


class FleetWorker:
    """One fleet worker as docs/fleet.md runs it: Granian, one process, one Unix socket."""

    def __init__(self, socket: Path, env: dict[str, str], log: Path) -> None:
        self.socket = socket
        self.log = log
        self.process = spawn_worker(socket, env, log, "0660")

    def ready(self) -> bool:
        if self.process.poll() is not None:
            tail = self.log.read_bytes()[-2000:].decode(errors="replace")
            raise RuntimeError(f"a fleet worker exited at start: {tail}")
        return healthy_on(self.socket)

    def stop(self) -> None:
        stop_worker(self.process)


@contextmanager
def fleet(workers: int, rurl: str, s3: S3Connection, prefix: str) -> Iterator[dict[str, Path]]:
    """`workers` fleet workers, each its own host; host name → socket."""
    with tempfile.TemporaryDirectory(prefix="vox-bench-fleet-") as tmp, ExitStack() as stack:
        sockets: dict[str, Path] = {}
        started: list[FleetWorker] = []
        for n in range(workers):
            host = f"bench-host-{n}"
            socket = Path(tmp) / f"w{n}.sock"
            env = {
                "VOX_FLEET_WORKER": "w",
                "VOX_FLEET_HOST": host,
                "VOX_FLEET_SOCKET": str(socket),
                "VOX_FLEET_BACKEND": "real",
                "VOX_REDIS_URL": rurl,
                "VOX_REDIS_PREFIX": prefix,
                "VOX_S3_URL": s3.url,
                "VOX_S3_ACCESS_KEY": s3.access_key,
                "VOX_S3_SECRET_KEY": s3.secret_key,
                "VOX_S3_REGION": s3.region,
                "VOX_S3_BUCKET": "vox-bench-fleet",
                "VOX_FLEET_SPOOL_DIR": str(Path(tmp) / f"spool{n}"),
                # No media stream follows an attach here: free the slot soon after.
                "VOX_FLEET_MEDIA_WAIT_S": "0.05",
                "VOX_FLEET_MEDIA_IDLE_S": "5",
                "VOX_FLEET_HEARTBEAT_S": "0.5",
            }
            worker = FleetWorker(socket, env, Path(tmp) / f"w{n}.log")
            started.append(worker)
            stack.callback(worker.stop)
            sockets[host] = socket
        deadline = time.monotonic() + 60
        while not all(w.ready() for w in started):
            if time.monotonic() > deadline:
                raise RuntimeError("fleet workers did not answer within 60 s")
            time.sleep(0.1)
        yield sockets


async def attach_latency(workers: int, attaches: int) -> tuple[list[float], int]:
    """Seconds per accepted attach, and how many found every worker busy."""
    prefix = f"vox-bench-{uuid.uuid4().hex[:6]}"
    with redis_url() as rurl, s3_server() as s3, fleet(workers, rurl, s3, prefix) as sockets:
        mounts = {
            f"http://{host}": httpx.AsyncHTTPTransport(uds=str(path))
            for host, path in sockets.items()
        }
        rclient = redis.connect(rurl)
        registry = redis.RedisSlotRegistry(rclient, prefix)
        async with httpx.AsyncClient(mounts=mounts, timeout=httpx.Timeout(1.0)) as http:
            client = HttpFleetClient({h: f"http://{h}" for h in sockets}, http, "twilio")
            latencies: list[float] = []
            refused = 0
            try:
                for n in range(attaches):
                    while True:
                        capacity = summarize(await registry.slots(), datetime.now(UTC))
                        if capacity.free > 0:
                            break
                        await asyncio.sleep(0.01)
                    request = AttachRequest(
                        call_id=f"bench-{n}",
                        tenant_id="t1",
                        campaign_id="c1",
                        agent_id="a1",
                        lease_token=f"lease-{n}",
                        room=f"call-bench-{n}",
                    )
                    # The dialler reads the order at its tick; the answer comes later.
                    order = capacity.attach_order()
                    started = time.perf_counter()
                    result = await client.attach(request, order)
                    if result.accepted:
                        latencies.append(time.perf_counter() - started)
                    else:
                        refused += 1
            finally:
                await rclient.aclose()
    return latencies, refused


# -- the command -------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=1000)
    parser.add_argument("--slots", type=int, default=10_000)
    parser.add_argument("--ticks", type=int, default=10, help="ticks measured per table")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each table 1 variant")
    parser.add_argument("--contacts", type=int, default=10, help="contacts per campaign")
    parser.add_argument("--cps", type=float, default=1.0, help="calls per second per trunk")
    parser.add_argument("--workers", type=int, default=4, help="fleet worker processes")
    parser.add_argument("--attaches", type=int, default=200)
    parser.add_argument("--skip", choices=("planning", "tick", "attach"), action="append")
    args = parser.parse_args(argv)
    skip = set(args.skip or ())
    if min(args.campaigns, args.slots, args.ticks, args.contacts, args.workers, args.rounds) < 1:
        parser.error("every count must be at least 1")

    if "planning" not in skip:
        print(f"1. plan_tick: {args.campaigns} campaigns, {args.slots} slots, {TRUNKS} trunks,"
              f" {TENANTS} tenants; {args.ticks} ticks")  # fmt: skip
        if is_compiled(voxcore_domain.pacing):
            print("voxcore_domain.pacing compiled by mypyc (scripts/build_native.py);"
                  " `predictive, pure`: its source, interpreted")  # fmt: skip
        else:
            print("voxcore_domain.pacing as pure Python: no compiled module"
                  " (scripts/build_native.py did not run or failed)")  # fmt: skip
        runs = planning_rounds(args.campaigns, args.slots, args.ticks, args.rounds)
        print(f"{'pacing':>18}  {'median ms':>8}  {'p95 ms':>8}  {'max ms':>8}  {'cpu ms':>8}"
              f"  {'cold ms':>8}")  # fmt: skip
        for name, rows in runs.items():
            wall = [t for run in rows for t in run.wall]
            cpu = [t for run in rows for t in run.cpu]
            cold = statistics.median(run.cold for run in rows)
            print(f"{name:>18}  {ms(wall)}  {1000 * statistics.median(cpu):>8.1f}"
                  f"  {1000 * cold:>8.1f}")  # fmt: skip
        for name in ("predictive", "predictive, pure"):
            if name not in runs:
                continue
            for clock in ("wall", "cpu"):
                ratio = statistics.median(
                    statistics.median(getattr(ours, clock))
                    / statistics.median(getattr(plain, clock))
                    for ours, plain in zip(runs[name], runs["predictive, plain"], strict=True)
                )
                print(f"{name} / plain ({clock}, median of {args.rounds} rounds): {ratio:.2f}")
        print("plain: the predictive pacer as first written (bench/plain_pacing.py), the same")
        print("decisions to the last bit; cpu ms: this thread's processor time, median; cold: the")
        print("first tick, every snapshot new (the dialler renews them each minute)")
        print()

    if "tick" not in skip:
        where = "VOX_TEST_MONGO_URL" if mongo_server.configured_url() else "SecantusDB"
        print(f"2. Dialler.tick: {args.campaigns} campaigns ({args.contacts} contacts each) on"
              f" {where}, {args.slots} slots in Redis, {TRUNKS} trunks at {args.cps:g} cps"
              " (trunks in memory, FakeTelephony: no answers)")  # fmt: skip
        run = asyncio.run(
            whole_ticks(args.campaigns, args.slots, args.ticks, args.contacts, args.cps)
        )
        print(f"first tick (takes the lock, recovers every campaign): {1000 * run.first:.0f} ms,"
              f" {run.first_trips} round trips")  # fmt: skip
        print(f"{'':>22}  {'median ms':>8}  {'p95 ms':>8}  {'max ms':>8}")
        print(f"{'tick':>22}  {ms(run.ticks)}")
        print(f"{'dial tasks after it':>22}  {ms(run.tasks)}  (spread by the trunk tokens)")
        print(f"dials per tick: median {statistics.median(run.dials):.0f}; a tick's time by port:")
        ticks_run = len(run.ticks)
        for key, seconds in sorted(run.spent.items(), key=lambda item: -item[1]):
            if seconds / ticks_run < 0.00005:
                continue  # a dial task's call, none of it inside a tick
            print(f"{key:>22}  {1000 * seconds / ticks_run:>8.1f} ms a tick")
        rest = statistics.mean(run.ticks) - sum(run.spent.values()) / ticks_run
        print(f"{'planning and the rest':>22}  {1000 * rest:>8.1f} ms a tick")
        total = sum(run.trips.values()) / ticks_run
        print(f"round trips a tick: {total:.0f}, of which")
        for key, n in sorted(run.trips.items(), key=lambda item: -item[1]):
            print(f"{key:>22}  {n / ticks_run:>8.1f}")
        print()

    if "attach" not in skip:
        print(f"3. Answer to attach: HttpFleetClient → {args.workers} fleet workers (Granian, Unix"
              f" sockets, Redis slots), {args.attaches} attaches one after another")  # fmt: skip
        latencies, refused = asyncio.run(attach_latency(args.workers, args.attaches))
        if latencies:
            p50 = 1000 * percentile(latencies, 0.5)
            p99 = 1000 * percentile(latencies, 0.99)
            print(f"accepted {len(latencies)}: p50 {p50:.1f} ms  p99 {p99:.1f} ms"
                  f"  max {1000 * max(latencies):.1f} ms; all busy: {refused}")  # fmt: skip
        else:
            print(f"no attach accepted; all busy: {refused}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
