"""`vox demo` for half a minute, end to end: every role as a real process, the simulated
carrier dialled by the dialler, calls attached to workers over their sockets, talked through,
recorded to S3; the demo's figures agree with the call log in MongoDB; nothing is left running.

The API's `GET /v1/campaigns/{id}/stats` is not in this branch: the figures compared with
MongoDB here are the demo view's own (read from the call log). Once the stats API lands, the same
check applies to it.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import attrs
import pymongo
import pytest
from rich.console import Console

from voxcore_adapters.mongo.schema import CALL_ATTEMPTS, CALL_REPORTS
from voxcore_adapters.s3.layout import call_prefix
from voxcore_adapters.testing.process import port_open
from voxcore_demo.config import DemoConfig
from voxcore_demo.observe import Observer
from voxcore_demo.processes import marked
from voxcore_demo.run import run
from voxcore_demo.seed import Seeded
from voxcore_demo.stack import BUCKET, Endpoints
from voxcore_domain.simulation.callees import CalleeModel

pytestmark = pytest.mark.integration

CONFIG = DemoConfig(
    minutes=0.5,
    workers=3,
    contacts=300,
    seed=4,
    callees=CalleeModel(
        answer_rate=0.6, machine_rate=0.1, mean_answer_delay_s=1.5, mean_talk_s=6.0,
        talk_cv=0.3, voicemail_s=5.0,
    ),
)  # fmt: skip


class Seen:
    """What the test read from the platform while it was still up."""

    counts: dict[str, dict[str, int]]
    attached: set[str]
    unreported: list[dict[str, Any]]
    """Attached calls whose end no worker reported to the API's call log."""
    recorded_calls: set[str]
    ports: list[int]


async def test_the_demo_runs_every_role_and_leaves_nothing_behind(tmp_path: Path) -> None:
    seen = Seen()

    def inspect(endpoints: Endpoints, seeded: Seeded, observer: Observer) -> None:
        with pymongo.MongoClient[dict[str, Any]](endpoints.mongo_url) as client:
            attempts = client.get_default_database()[CALL_ATTEMPTS]
            seen.counts = {
                name: {
                    "dials": attempts.count_documents({"campaign_id": cid}),
                    "answered": attempts.count_documents(
                        {"campaign_id": cid, "answered_at": {"$ne": None}}
                    ),
                    "attached": attempts.count_documents(
                        {"campaign_id": cid, "attached_at": {"$ne": None}}
                    ),
                    "abandoned": attempts.count_documents(
                        {"campaign_id": cid, "disposition": "abandoned"}
                    ),
                }
                for name, cid in seeded.campaigns.items()
            }
            seen.attached = {
                a["_id"] for a in attempts.find({"attached_at": {"$ne": None}}, {"_id": 1})
            }
            reported = {
                r["call_id"]
                for r in client.get_default_database()[CALL_REPORTS].find(
                    {"kind": "ended", "applied": True, "worker": {"$ne": None}}
                )
            }
            seen.unreported = [
                a
                for a in attempts.find({"attached_at": {"$ne": None}})
                if a["_id"] not in reported or a.get("disposition") is None
            ]
        s3 = endpoints.s3.client()
        seen.recorded_calls = {
            call_id
            for call_id in seen.attached
            if any(
                True
                for _ in s3.list_objects(
                    BUCKET, prefix=call_prefix(seeded.tenant_id, call_id), recursive=True
                )
            )
        }
        seen.ports = [
            int(url.rsplit(":", 1)[1]) for url in (endpoints.api_url, endpoints.dialler_url)
        ]

    outcome = await run(CONFIG, tmp_path, Console(file=io.StringIO()), inspect=inspect)

    # Calls were dialled, answered, attached to workers and run to their end there.
    assert sum(c["dials"] for c in seen.counts.values()) > 0
    assert seen.attached, seen.counts
    # Each call a worker ran was reported to the API (POST /v1/internal/call-events): its end
    # is in the call log with the disposition the worker gave it.
    assert seen.unreported == []
    ended = outcome.summary["ended_calls"]
    assert isinstance(ended, dict)
    assert sum(ended.values()) >= 1, ended
    # The calls the workers ran are recorded in S3, one recording each, under their call ids.
    assert seen.recorded_calls, seen.attached
    assert seen.recorded_calls <= seen.attached
    assert outcome.summary["recordings"] == len(seen.recorded_calls)
    assert len(seen.recorded_calls) >= sum(ended.values()) - ended.get("failed", 0)
    # The demo's figures are the call log's.
    counts = outcome.summary["counts"]
    assert isinstance(counts, dict)
    assert {
        name: {k: figures[k] for k in ("dials", "answered", "attached", "abandoned")}
        for name, figures in counts.items()
    } == seen.counts
    # Both campaigns dialled; the summary, chart and call log are left for inspection.
    assert all(c["dials"] > 0 for c in seen.counts.values()), seen.counts
    for name in ("summary.json", "chart.png", "call_attempts.jsonl"):
        assert (outcome.run_dir / name).stat().st_size > 0
    # Every process the demo started is gone, and its ports and sockets are free.
    assert outcome.leftovers == []
    assert not any(port_open(port) for port in seen.ports)


async def test_an_interrupted_demo_stops_every_process_it_started(tmp_path: Path) -> None:
    config = attrs.evolve(CONFIG, minutes=5.0)
    task = asyncio.get_running_loop().create_task(
        run(config, tmp_path, Console(file=io.StringIO()))
    )
    # Interrupted once the dialler is dialling (Ctrl-C cancels asyncio.run's task so).
    (logs,) = await _wait_for(lambda: list(tmp_path.glob("run-*/logs/dialler.log")))
    await _wait_for(lambda: b"leading shard" in logs.read_bytes())
    assert len(marked(logs.parent)) >= 2 + CONFIG.workers
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert marked(logs.parent) == []


T = TypeVar("T")


async def _wait_for(probe: Callable[[], T], timeout_s: float = 120.0) -> T:
    async with asyncio.timeout(timeout_s):
        while not (value := probe()):
            await asyncio.sleep(0.2)
    return value
