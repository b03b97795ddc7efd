"""Eight dialler processes leasing one campaign at once through the Mongo-wire server: every
contact is leased exactly once, however their batches collide."""

from __future__ import annotations

import multiprocessing
import queue
from collections import Counter

import pytest
from pymongo.database import Database

from tests.integration.mongo.lease_worker import NOW, lease_until_none_left
from tests.integration.mongo.support import seed_mongo
from voxcore_adapters.mongo import MongoContactLeases
from voxcore_adapters.mongo.documents import Document
from voxcore_domain.model import Contact, ContactState

pytestmark = pytest.mark.integration

PROCESSES = 8
CONTACTS = 240


def test_eight_processes_lease_every_contact_exactly_once(
    mongo_url: str, mongo_db: Database[Document]
) -> None:
    contacts = [Contact(f"k{i:04d}", "c1", "t1", f"+1415555{i:04d}", NOW) for i in range(CONTACTS)]
    seed_mongo(mongo_db, contacts, {})
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(PROCESSES)
    results: multiprocessing.Queue[tuple[str, object]] = spawn.Queue()
    workers = [
        spawn.Process(
            target=lease_until_none_left,
            args=(mongo_url, mongo_db.name, f"dialler-{i}", start, results),
        )
        for i in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    reports: dict[str, object] = {}
    try:
        for _ in workers:
            owner, report = results.get(timeout=120)
            reports[owner] = report
    except queue.Empty:
        pytest.fail(f"only {sorted(reports)} reported within two minutes")
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
    failures = {owner: r for owner, r in reports.items() if isinstance(r, str)}
    assert failures == {}
    assert [worker.exitcode for worker in workers] == [0] * PROCESSES

    leased_by: dict[str, str] = {}
    counts: Counter[str] = Counter()
    for owner, report in reports.items():
        assert isinstance(report, tuple)
        taken, _short = report
        for contact_id in taken:
            counts[contact_id] += 1
            leased_by[contact_id] = owner
    assert [contact_id for contact_id, n in counts.items() if n > 1] == []
    assert sorted(counts) == [contact.id for contact in contacts]
    # The store agrees with what each dialler was told it holds.
    for contact in MongoContactLeases(mongo_db).contacts():
        assert contact.state is ContactState.LEASED
        assert contact.lease is not None
        assert contact.lease.owner == leased_by[contact.id]
