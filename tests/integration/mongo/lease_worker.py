"""A dialler process for the concurrency test: leases one campaign until nothing is left.

It lives in a module of its own so that spawned processes import only this, not the test module.
"""

from __future__ import annotations

import random
import traceback
from datetime import UTC, time, timedelta
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

import pymongo

from voxcore_adapters.mongo import MongoContactLeases
from voxcore_adapters.mongo.documents import Document
from voxcore_domain.model import CallingWindow, Campaign, CampaignState, utc

NOW = utc(2024, 6, 5, 12)
TTL = timedelta(hours=1)
CAMPAIGN = Campaign(
    "c1",
    "t1",
    "Reminders",
    "a1",
    "trunk",
    "+14155550100",
    CallingWindow(time(0), time.max),
    state=CampaignState.RUNNING,
)


def lease_until_none_left(
    url: str, database: str, owner: str, start: Barrier, results: Queue[tuple[str, object]]
) -> None:
    """Lease batches of 1 to 8 until three leases in a row come back empty (a lease that lost
    every race comes back empty too, while contacts remain); report every contact id leased and
    how many batches came back short, or the error."""
    client: pymongo.MongoClient[Document] = pymongo.MongoClient(url, tz_aware=True, tzinfo=UTC)
    try:
        leases = MongoContactLeases(client.get_database(database))
        sizes = random.Random(owner)
        taken: list[str] = []
        short = 0
        empty_in_a_row = 0
        start.wait(timeout=60)
        while empty_in_a_row < 3:
            n = sizes.randint(1, 8)
            batch = leases.lease(CAMPAIGN, n, owner, NOW, TTL)
            empty_in_a_row = 0 if batch else empty_in_a_row + 1
            short += len(batch) < n
            taken.extend(lease.contact_id for lease in batch)
        results.put((owner, (taken, short)))
    except Exception:  # the parent must see it: a child's traceback is otherwise lost
        results.put((owner, traceback.format_exc()))
        raise
    finally:
        client.close()
