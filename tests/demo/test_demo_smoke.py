"""`vox demo` for half a minute, end to end: every role as a real process, the simulated
carrier dialled by the dialler, calls attached to workers over their sockets, talked through,
recorded to S3 and reported to the API's call log; the campaign stats the API answers (which the
demo's view and summary show) agree with counts taken from MongoDB directly; nothing is left
running.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import attrs
import httpx
import pymongo
import pytest
from rich.console import Console

from voxcore_adapters.mongo.schema import CALL_ATTEMPTS, CALL_REPORTS
from voxcore_adapters.s3.layout import call_prefix
from voxcore_adapters.testing import nginx
from voxcore_adapters.testing.process import port_open
from voxcore_demo.config import DemoConfig
from voxcore_demo.observe import CampaignFigures, Observer
from voxcore_demo.processes import alive, descendants, marked
from voxcore_demo.run import run
from voxcore_demo.seed import Seeded
from voxcore_demo.stack import BUCKET, Endpoints
from voxcore_domain.estimators import counts_as_live_answer
from voxcore_domain.model import Disposition
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

LIVE = [d.value for d in Disposition if counts_as_live_answer(d)]


def mongo_figures(
    attempts: pymongo.collection.Collection[dict[str, Any]], cid: str
) -> dict[str, int]:
    """A campaign's stats counted in the call log's collection itself, by the stats API's rules
    (`voxcore_domain.callstats`): every dial of the run is in its 30-day window."""
    since = datetime.now(UTC) - timedelta(hours=4)

    def count(**match: object) -> int:
        return attempts.count_documents({"campaign_id": cid, **match})

    return {
        "dials": count(),
        "ended": count(disposition={"$ne": None}),
        "live_answers": count(disposition={"$in": LIVE}),
        "machine_answers": count(disposition="voicemail"),
        "abandoned": count(disposition="abandoned"),
        "busy": count(
            disposition=None, attached_at={"$ne": None}, ended_at=None, dialed_at={"$gte": since}
        ),
    }


class Seen:
    """What the test read from the platform while it was still up."""

    mongo: dict[str, dict[str, int]]
    api: dict[str, dict[str, int]]
    attached: set[str]
    unreported: list[dict[str, Any]]
    """Attached calls whose end no worker reported to the API's call log."""
    recordings: dict[str, tuple[int, bytes]]
    """Call id → size of its recording object in S3 and the object's first 12 bytes."""
    ports: list[int]
    trunks: set[str]
    """The trunks the seeded campaigns dial through, as the API answers them."""
    console: tuple[int, str, int]
    """The Console page: status, content type, and the status of its own module."""
    api_key: str
    nginx_url: str | None
    nginx_console: tuple[int, int] | None
    """Behind nginx: the Console's page at nginx's root, and the API's stats through it."""
    processes: set[int]
    """Every process below the test's while the platform was up, but for those already there
    before the run (the session's own servers)."""


@pytest.mark.parametrize("mode", ["nginx", "direct"])
async def test_the_demo_runs_every_role_and_leaves_nothing_behind(
    tmp_path: Path, mode: str
) -> None:
    if mode == "nginx":
        # `make test` installs it (scripts/system-deps.sh): this mode is tested, not skipped.
        assert nginx.installed() is not None, "nginx is not installed: run scripts/system-deps.sh"
    config = attrs.evolve(CONFIG, nginx=mode == "nginx")
    seen = Seen()
    before = set(descendants(os.getpid()))

    def inspect(endpoints: Endpoints, seeded: Seeded, observer: Observer) -> None:
        with pymongo.MongoClient[dict[str, Any]](endpoints.mongo_url, tz_aware=True) as client:
            db = client.get_default_database()
            attempts = db[CALL_ATTEMPTS]
            seen.mongo = {
                name: mongo_figures(attempts, cid) for name, cid in seeded.campaigns.items()
            }
            seen.api = {
                name: attrs.asdict(CampaignFigures.of(observer.stats(cid)))
                for name, cid in seeded.campaigns.items()
            }
            seen.attached = {
                a["_id"] for a in attempts.find({"attached_at": {"$ne": None}}, {"_id": 1})
            }
            reported = {
                r["call_id"]
                for r in db[CALL_REPORTS].find(
                    {"kind": "ended", "applied": True, "worker": {"$ne": None}}
                )
            }
            seen.unreported = [
                a
                for a in attempts.find({"attached_at": {"$ne": None}})
                if a["_id"] not in reported or a.get("disposition") is None
            ]
        s3 = endpoints.s3.client()
        seen.recordings = {}
        for call_id in seen.attached:
            prefix = call_prefix(seeded.tenant_id, call_id)
            for item in s3.list_objects(BUCKET, prefix=prefix, recursive=True):
                assert item.object_name is not None
                stored = s3.stat_object(BUCKET, item.object_name)
                head = s3.get_object(BUCKET, item.object_name, length=12)
                try:
                    seen.recordings[call_id] = (int(stored.size or 0), head.read())
                finally:
                    head.close()
                    head.release_conn()
        with httpx.Client(
            base_url=endpoints.api_url, headers={"Authorization": f"Bearer {seeded.api_key}"}
        ) as api:
            page = api.get(endpoints.console_url)
            seen.console = (
                page.status_code,
                page.headers.get("content-type", ""),
                api.get(endpoints.console_url + "js/app.js").status_code,
            )
            seen.trunks = {
                api.get(f"/v1/trunks/{api.get(f'/v1/campaigns/{cid}').json()['trunk_id']}").json()[
                    "livekit_trunk_id"
                ]
                for cid in seeded.campaigns.values()
            }
            seen.nginx_url = endpoints.nginx_url
            seen.nginx_console = None
            if endpoints.nginx_url is not None:
                cid = next(iter(seeded.campaigns.values()))
                seen.nginx_console = (
                    api.get(endpoints.nginx_url + "/").status_code,
                    api.get(f"{endpoints.nginx_url}/v1/campaigns/{cid}/stats").status_code,
                )
        seen.api_key = seeded.api_key
        urls = [endpoints.api_url, endpoints.dialler_url, endpoints.nginx_url]
        seen.ports = [int(url.rsplit(":", 1)[1]) for url in urls if url]
        seen.processes = set(descendants(os.getpid())) - before

    outcome = await run(config, tmp_path, Console(file=io.StringIO()), inspect=inspect)
    logs = outcome.run_dir / "logs"

    # The campaigns dial through the trunk the seeding made with POST /v1/trunks.
    assert seen.trunks == {"ST_demo_sim"}
    # Calls were dialled in both campaigns, answered, attached to workers and ended there.
    assert all(c["dials"] > 0 for c in seen.mongo.values()), seen.mongo
    assert seen.attached, seen.mongo
    # Each call a worker ran was reported to the API (POST /v1/internal/call-events): its end
    # is in the call log with the disposition the worker gave it.
    assert seen.unreported == []
    ended = outcome.summary["outcomes"]
    assert isinstance(ended, dict)
    assert sum(ended.values()) == sum(c["ended"] for c in seen.mongo.values()) > 0
    # Calls were talked through to their end: the agent closed them or the callee hung up.
    assert ended.get("completed", 0) + ended.get("hung_up", 0) >= 1, ended
    assert outcome.summary["ran"] == len(seen.attached)
    # The calls the workers ran are recorded in S3, a real object each, under their call ids.
    assert seen.recordings, seen.attached
    for size, head in seen.recordings.values():
        # A WAV file with audio after its 44-byte header.
        assert (head[:4], head[8:12]) == (b"RIFF", b"WAVE"), head
        assert size > 44, size
    assert outcome.summary["recordings"] == len(seen.recordings)
    ran_to_end = len(seen.attached) - ended.get("failed", 0)
    assert len(seen.recordings) >= ran_to_end
    # The stats API agrees with the call log in MongoDB, and the demo's summary is the API's.
    assert seen.api == seen.mongo
    assert outcome.summary["counts"] == seen.api
    # The summary, chart and call log are left for inspection.
    for name in ("summary.json", "chart.png", "calls.jsonl"):
        assert (outcome.run_dir / name).stat().st_size > 0
    # The Console answered at the URL the demo printed.
    assert seen.console == (200, "text/html; charset=utf-8", 200)
    if mode == "nginx":
        # The dialler's attaches went through nginx to the workers, and the carrier's media
        # streams to the per-worker path of the worker that took each call.
        assert seen.nginx_url is not None
        assert seen.nginx_console == (200, 200)
        paths = re.findall(r'"[A-Z]+ (\S+) HTTP', (logs / "nginx.access.log").read_text())
        assert "/attach" in paths
        streams = {p for p in paths if re.fullmatch(r"/w/[1-3]/media/twilio", p)}
        assert streams, paths
    else:
        assert seen.nginx_url is None
        assert not list(logs.glob("nginx*"))
    # The tenant's API key (a secret of the run) is in no file the run left, logs included.
    kept = [path for path in outcome.run_dir.rglob("*") if path.is_file()]
    assert any(path.suffix == ".log" for path in kept)
    assert [path for path in kept if seen.api_key.encode() in path.read_bytes()] == []
    # Every process the demo started is gone (servers, roles, nginx and their own workers),
    # and its ports and sockets are free.
    assert outcome.leftovers == []
    assert len(seen.processes) >= 5 + CONFIG.workers
    assert [pid for pid in seen.processes if alive(pid)] == []
    assert not any(port_open(port) for port in seen.ports)


async def test_an_interrupted_demo_stops_every_process_it_started(tmp_path: Path) -> None:
    config = attrs.evolve(CONFIG, minutes=5.0)
    before = set(descendants(os.getpid()))
    task = asyncio.get_running_loop().create_task(
        run(config, tmp_path, Console(file=io.StringIO()))
    )
    # Interrupted once the dialler is dialling (Ctrl-C cancels asyncio.run's task so).
    (logs,) = await _wait_for(lambda: list(tmp_path.glob("run-*/logs/dialler.log")))
    await _wait_for(lambda: b"leading shard" in logs.read_bytes())
    assert len(marked(logs.parent)) >= 2 + CONFIG.workers
    started = set(descendants(os.getpid())) - before
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert marked(logs.parent) == []
    assert [pid for pid in started if alive(pid)] == []


T = TypeVar("T")


async def _wait_for(probe: Callable[[], T], timeout_s: float = 120.0) -> T:
    async with asyncio.timeout(timeout_s):
        while not (value := probe()):
            await asyncio.sleep(0.2)
    return value
