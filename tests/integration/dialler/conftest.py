"""Dialler processes for fail-over tests: `apps.dialler.main` under Granian, as deployed, against
a MongoDB-wire server, a Redis and the LiveKit double, all on loopback."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, time, timedelta
from pathlib import Path
from typing import Any

import attrs
import httpx
import pymongo
import pytest
from pymongo.database import Database
from redis.asyncio import Redis

from voxcore_adapters.mongo import MongoCampaigns, MongoContactImport, ensure_indexes
from voxcore_adapters.mongo.documents import Document
from voxcore_adapters.mongo.trunks import MongoTrunks
from voxcore_adapters.redis import connect
from voxcore_adapters.s3 import S3Connection
from voxcore_adapters.testing import mongo_server
from voxcore_adapters.testing.asgi_server import granian_on_port
from voxcore_adapters.testing.livekit_double import LiveKitDouble
from voxcore_adapters.testing.process import LOOPBACK, free_port
from voxcore_adapters.testing.redis_server import redis_url
from voxcore_adapters.testing.s3_server import s3_server
from voxcore_domain.model import (
    CallingWindow,
    Campaign,
    CampaignState,
    Contact,
    PacingSettings,
    RetryPolicy,
    utc,
)
from voxcore_domain.trunks import Trunk

ROOT = Path(__file__).parents[3]
TRUNK = "ST_vox"
TICK_S = 0.3
LEADER_TTL_S = 2.0
STARTUP_S = 60.0
"""How long a dialler process may take to start and tick once."""


@pytest.fixture(scope="session")
def dialler_mongo_url() -> Iterator[str]:
    with mongo_server.mongo_url() as url:
        yield url


@pytest.fixture(scope="session")
def dialler_redis_url() -> Iterator[str]:
    with redis_url() as url:
        yield url


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Connection]:
    with s3_server() as connection:
        yield connection


@pytest.fixture
def sockets() -> Iterator[Path]:
    # Unix socket paths are limited to 108 bytes: a short directory under /tmp.
    folder = Path(tempfile.mkdtemp(prefix="vox-dialler-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def livekit() -> Iterator[LiveKitDouble]:
    with LiveKitDouble(trunks=(TRUNK,)) as double:
        yield double


@attrs.define
class Shop:
    """One test's database and Redis prefix, with what the diallers need."""

    mongo_url: str
    redis_url: str
    prefix: str
    db: Database[Document]


@pytest.fixture
def shop(dialler_mongo_url: str, dialler_redis_url: str) -> Iterator[Shop]:
    client: pymongo.MongoClient[Document] = pymongo.MongoClient(
        dialler_mongo_url, tz_aware=True, tzinfo=UTC
    )
    name = f"vox_failover_{os.urandom(6).hex()}"
    db = client.get_database(name)
    ensure_indexes(db)
    base = dialler_mongo_url.rstrip("/")
    yield Shop(f"{base}/{name}", dialler_redis_url, f"vox{os.urandom(4).hex()}", db)
    client.drop_database(name)
    client.close()


@pytest.fixture
async def redis(shop: Shop) -> AsyncIterator[Redis]:
    client = connect(shop.redis_url)
    yield client
    await client.aclose()


def all_day_campaign() -> Campaign:
    return Campaign(
        id="c1",
        tenant_id="t1",
        name="Fail-over",
        agent_id="a1",
        trunk_id=TRUNK,
        caller_id="+442071234567",
        window=CallingWindow(start=time(0, 0), end=time(23, 59, 59, 999999)),
        pacing=PacingSettings(mode="progressive", ring_timeout_s=15),
        retry=RetryPolicy(max_attempts=1),
        state=CampaignState.RUNNING,
    )


def seed(db: Database[Document], n: int) -> list[Contact]:
    MongoCampaigns(db).put(all_day_campaign())
    # The provider's trunk id is the platform's here; limits generous enough not to matter.
    MongoTrunks(db).put(Trunk(TRUNK, "t1", "Fail-over trunk", TRUNK, cps=100))
    people = [
        Contact(
            id=f"k{i:03d}",
            campaign_id="c1",
            tenant_id="t1",
            phone=f"+4420790{i:05d}",
            next_attempt_at=utc(2024, 1, 1),
        )
        for i in range(n)
    ]
    MongoContactImport(db).import_contacts(people)
    return people


class DiallerProcess:
    """One `granian … apps.dialler.main:create_app` in a process group of its own (Granian runs
    its worker as a child), so a test can kill or freeze the whole of it."""

    def __init__(
        self, owner: str, process: asyncio.subprocess.Process, port: int, log: Path
    ) -> None:
        self.owner = owner
        self.process = process
        self.port = port
        self.log = log
        """Its output, shown when a test fails."""

    def signal(self, signum: int) -> None:
        os.killpg(self.process.pid, signum)

    async def health(self) -> dict[str, Any] | None:
        try:
            async with httpx.AsyncClient(timeout=1.0) as client:
                response = await client.get(f"http://{LOOPBACK}:{self.port}/health")
        except httpx.TransportError:
            return None
        body: dict[str, Any] = response.json()
        return body

    async def role(self) -> str | None:
        health = await self.health()
        return None if health is None else str(health["role"])

    async def ticked(self) -> bool:
        """Its loop has run at least once."""
        if self.process.returncode is not None:
            raise AssertionError(f"{self.owner} exited with {self.process.returncode}")
        health = await self.health()
        return health is not None and health["last_tick_at"] is not None


StartDialler = Callable[[str], Awaitable[DiallerProcess]]


@pytest.fixture
async def start_dialler(
    shop: Shop, livekit: LiveKitDouble, tmp_path: Path
) -> AsyncIterator[StartDialler]:
    started: list[DiallerProcess] = []

    async def start(owner: str) -> DiallerProcess:
        port = free_port()
        env = {
            **os.environ,
            "VOX_DIALLER_OWNER": owner,
            "VOX_DIALLER_MONGO_URL": shop.mongo_url,
            "VOX_DIALLER_REDIS_URL": shop.redis_url,
            "VOX_DIALLER_REDIS_PREFIX": shop.prefix,
            "VOX_DIALLER_LIVEKIT_URL": livekit.url,
            "VOX_DIALLER_LIVEKIT_API_KEY": livekit.api_key,
            "VOX_DIALLER_LIVEKIT_API_SECRET": livekit.api_secret,
            "VOX_DIALLER_LOOP_INTERVAL_SECONDS": str(TICK_S),
            "VOX_DIALLER_LEADER_TTL_SECONDS": str(LEADER_TTL_S),
            "VOX_DIALLER_LEASE_TTL_SECONDS": "30",
            "VOX_DIALLER_ATTACH_BUDGET_SECONDS": "0.5",
            # The slots' host, where nothing listens: only a listed host's slots are planned
            # with, and an answered call is abandoned.
            "VOX_DIALLER_FLEET_HOSTS": f"h1=http://{LOOPBACK}:{free_port()}",
        }
        log = tmp_path / f"{owner}.log"
        output = log.open("wb")
        process = await asyncio.create_subprocess_exec(
            *granian_on_port(port, "apps.dialler.main:create_app"),
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        output.close()
        dialler = DiallerProcess(owner, process, port, log)
        started.append(dialler)
        # Ready once its loop has ticked (before that, /health says standby whatever it will
        # be). Starting is importing the app in Granian's worker, a few CPU-seconds that a busy
        # machine can stretch past ten: a generous bound, not a measure.
        await until_async(dialler.ticked, within_s=STARTUP_S)
        return dialler

    yield start
    for dialler in started:
        if dialler.process.returncode is None:
            try:
                dialler.signal(signal.SIGCONT)
                dialler.signal(signal.SIGKILL)
            except ProcessLookupError:
                pass
        await dialler.process.wait()
        # pytest shows what a test printed only when it failed.
        print(f"--- {dialler.owner} ---\n{dialler.log.read_text(errors='replace')[-6000:]}")


async def until_async(
    probe: Callable[[], Awaitable[object]], within_s: float = 10.0, every_s: float = 0.1
) -> object:
    """Poll `probe` until it returns something truthy; that value. AssertionError past
    `within_s`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while True:
        value = await probe()
        if value:
            return value
        assert loop.time() < deadline, f"not within {within_s} s"
        await asyncio.sleep(every_s)


SLOT_TTL = timedelta(seconds=30)
