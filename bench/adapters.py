"""Leasing through the MongoDB adapter: leases per second and round trips per batch.

    make bench-adapters                                  # SecantusDB, started here on loopback
    VOX_TEST_MONGO_URL=mongodb://… make bench-adapters   # a real mongod instead

For each batch size, every repetition leases from a fresh campaign of `--contacts` due contacts;
the table shows medians over the repetitions. Round trips are the commands the client sent,
counted with a pymongo CommandListener. SecantusDB is a test server written in Python: its
figures say how the adapter behaves (round trips, scaling with the batch), not how fast MongoDB is.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, timedelta
from datetime import time as clock_time

import attrs
import pymongo
from pymongo import monitoring
from pymongo.database import Database

from voxcore_adapters.mongo import MongoContactImport, MongoContactLeases, ensure_indexes
from voxcore_adapters.mongo.documents import Document
from voxcore_adapters.testing import mongo_server
from voxcore_domain.model import (
    CallingWindow,
    Campaign,
    CampaignState,
    Contact,
    ContactState,
    Disposition,
    utc,
)

BATCH_SIZES = (1, 10, 100)
NOW = utc(2024, 6, 5, 12)
TTL = timedelta(minutes=5)
CAMPAIGN = Campaign(
    "bench",
    "t1",
    "Bench",
    "a1",
    "trunk",
    "+14155550100",
    CallingWindow(clock_time(0), clock_time.max),
    state=CampaignState.RUNNING,
)


class CommandCounter(monitoring.CommandListener):
    """Counts the commands a client sends: each is one round trip."""

    def __init__(self) -> None:
        self.count = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.count += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@attrs.frozen
class Sample:
    leases: int
    batches: int
    seconds: float
    round_trips: int


def seed(db: Database[Document], contacts: int) -> None:
    db.client.drop_database(db.name)
    ensure_indexes(db)
    rows = [
        Contact(f"k{i:06d}", CAMPAIGN.id, "t1", f"+1415{i:07d}", NOW - timedelta(minutes=i % 90))
        for i in range(contacts)
    ]
    report = MongoContactImport(db).import_contacts(rows)
    if report.duplicates:
        raise RuntimeError(f"seeding refused {len(report.duplicates)} rows")


def lease_run(db: Database[Document], counter: CommandCounter, batch: int, batches: int) -> Sample:
    leases = MongoContactLeases(db, rng=random.Random(batch))
    counter.count = 0
    leased = 0
    started = time.perf_counter()
    for _ in range(batches):
        leased += len(leases.lease(CAMPAIGN, batch, "bench", NOW, TTL))
    seconds = time.perf_counter() - started
    return Sample(leased, batches, seconds, counter.count)


def write_costs(db: Database[Document], counter: CommandCounter) -> dict[str, tuple[int, float]]:
    """Round trips and seconds of each fenced write, on one freshly leased contact."""
    leases = MongoContactLeases(db, rng=random.Random(0))
    [lease, spare] = leases.lease(CAMPAIGN, 2, "bench", NOW, TTL)
    writes: list[tuple[str, Callable[[], object]]] = [
        ("renew", lambda: leases.renew(lease, NOW, TTL)),
        ("advance", lambda: leases.advance(lease, ContactState.DIALING, NOW)),
        ("complete", lambda: leases.complete(lease, CAMPAIGN, Disposition.NO_ANSWER, NOW)),
        ("release", lambda: leases.release(spare, NOW)),
    ]
    costs: dict[str, tuple[int, float]] = {}
    for name, write in writes:
        counter.count = 0
        started = time.perf_counter()
        write()
        costs[name] = (counter.count, time.perf_counter() - started)
    return costs


def lease_table(samples: dict[int, list[Sample]]) -> Iterable[str]:
    yield f"{'batch':>5}  {'leases/s':>9}  {'ms/batch':>9}  {'round trips/batch':>17}  runs"
    for batch, runs in samples.items():
        per_second = statistics.median(s.leases / s.seconds for s in runs)
        ms = statistics.median(1000 * s.seconds / s.batches for s in runs)
        trips = statistics.median(s.round_trips / s.batches for s in runs)
        yield f"{batch:>5}  {per_second:>9.0f}  {ms:>9.1f}  {trips:>17.1f}  {len(runs)}"


def write_table(costs: list[dict[str, tuple[int, float]]]) -> Iterable[str]:
    yield f"{'fenced write':>12}  {'round trips':>11}  {'ms':>6}"
    for name in costs[0]:
        trips = statistics.median(c[name][0] for c in costs)
        ms = statistics.median(1000 * c[name][1] for c in costs)
        yield f"{name:>12}  {trips:>11.0f}  {ms:>6.1f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=500, help="contacts per campaign")
    parser.add_argument("--repeats", type=int, default=5, help="repetitions per batch size")
    parser.add_argument("--leases", type=int, default=100, help="leases to aim for per run")
    args = parser.parse_args(argv)
    if args.contacts < max(BATCH_SIZES) or args.repeats < 1 or args.leases < 1:
        parser.error("need --contacts ≥ 100, --repeats ≥ 1 and --leases ≥ 1")

    counter = CommandCounter()
    with mongo_server.mongo_url() as url:
        where = "VOX_TEST_MONGO_URL" if mongo_server.configured_url() else "SecantusDB"
        print(
            f"Leasing from {args.contacts} due contacts on {where}, {args.repeats} runs per"
            " batch size…",
            file=sys.stderr,
        )
        client: pymongo.MongoClient[Document] = pymongo.MongoClient(
            url, tz_aware=True, tzinfo=UTC, event_listeners=[counter]
        )
        db = client.get_database("vox_bench_adapters")
        try:
            samples: dict[int, list[Sample]] = {batch: [] for batch in BATCH_SIZES}
            costs: list[dict[str, tuple[int, float]]] = []
            for _ in range(args.repeats):
                for batch in BATCH_SIZES:
                    seed(db, args.contacts)
                    batches = max(2, min(args.leases, args.contacts // 2) // batch)
                    samples[batch].append(lease_run(db, counter, batch, batches))
                costs.append(write_costs(db, counter))
            for line in lease_table(samples):
                print(line)
            print()
            for line in write_table(costs):
                print(line)
        finally:
            client.drop_database(db.name)
            client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
