"""The API and fleet workers as separate processes for the dialler's end-to-end tests, started
as their docs run them (Granian; the workers on Unix sockets) on one test's database, Redis
prefix and S3 bucket; and a campaign made through the API as a tenant makes it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import attrs
import httpx

from tests.integration.dialler.conftest import Shop
from voxcore_adapters.s3 import S3Connection
from voxcore_adapters.testing import provisioning
from voxcore_adapters.testing.asgi_server import served, served_on_socket
from voxcore_adapters.testing.process import ServerProcess

ADMIN_KEY = "admin-" + "e" * 40
INTERNAL_TOKEN = "internal-" + "e" * 40


def storage_env(shop: Shop, s3: S3Connection) -> dict[str, str]:
    """The Redis and S3 settings the API and the workers share: the test's prefix and bucket."""
    return {
        "VOX_REDIS_URL": shop.redis_url,
        "VOX_REDIS_PREFIX": shop.prefix,
        "VOX_S3_URL": s3.url,
        "VOX_S3_ACCESS_KEY": s3.access_key,
        "VOX_S3_SECRET_KEY": s3.secret_key,
        "VOX_S3_REGION": s3.region,
        "VOX_S3_BUCKET": f"rec-{shop.prefix}",
    }


def api_server(
    shop: Shop, mongo_url: str, s3: S3Connection, extra: Mapping[str, str] | None = None
) -> ServerProcess:
    """The API on the test's database (`mongo_url` is the server's, without a database)."""
    return served(
        "api",
        "apps.api.main:create_app",
        {
            **storage_env(shop, s3),
            "VOX_API_ADMIN_KEY": ADMIN_KEY,
            "VOX_API_INTERNAL_TOKEN": INTERNAL_TOKEN,
            "VOX_MONGO_URL": mongo_url,
            "VOX_MONGO_DATABASE": shop.mongo_url.rsplit("/", 1)[1],
            **(extra or {}),
        },
    )


def fleet_worker(
    worker: str,
    socket: Path,
    api_url: str,
    shop: Shop,
    s3: S3Connection,
    spool: Path,
    extra: Mapping[str, str] | None = None,
) -> ServerProcess:
    """A fleet worker that is a fleet host of its own (the dialler reaches its socket) and
    reports its calls to the API at `api_url`, with short heartbeats and report retries."""
    return served_on_socket(
        f"fleet-{worker}",
        "apps.fleet.main:create_app",
        socket,
        {
            **storage_env(shop, s3),
            "VOX_FLEET_WORKER": worker,
            "VOX_FLEET_HOST": worker,
            "VOX_FLEET_SOCKET": str(socket),
            "VOX_FLEET_BACKEND": "real",
            "VOX_FLEET_API_URL": api_url,
            "VOX_FLEET_API_TOKEN": INTERNAL_TOKEN,
            "VOX_FLEET_SPOOL_DIR": str(spool),
            "VOX_FLEET_HEARTBEAT_S": "0.5",
            "VOX_FLEET_SLOT_TTL_S": "5",
            "VOX_FLEET_REPORT_BACKOFF_S": "0.2",
            **(extra or {}),
        },
    )


@attrs.frozen
class Platform:
    api_url: str
    sockets: Path
    """The folder of the workers' sockets (`<worker>.sock`)."""


@asynccontextmanager
async def running(servers: Sequence[ServerProcess]) -> AsyncIterator[None]:
    """Start `servers` side by side (each waits for its own readiness in a thread); stop them
    in reverse order at the end."""
    try:
        await asyncio.gather(*(asyncio.to_thread(server.start) for server in servers))
        yield
    finally:
        for server in reversed(servers):
            server.stop()


@attrs.frozen
class Seeded:
    campaign_id: str
    headers: dict[str, str] = attrs.field(repr=False)
    """The tenant's API key."""


def seed_campaign(
    api_url: str,
    agent: Mapping[str, object],
    trunk: Mapping[str, object],
    campaign: Mapping[str, object],
    rows: Sequence[Mapping[str, object]],
) -> Seeded:
    """A tenant with `agent`, `trunk` and a running `campaign` (its agent and trunk filled in),
    with `rows` imported one at a time: each is due from its import, so they are leased in
    this order."""
    with httpx.Client(base_url=api_url, timeout=30.0) as http:
        tenant = provisioning.tenant(http, ADMIN_KEY, "Acme", key_name="e2e", agent=agent)
        trunk_id = provisioning.trunk(http, tenant.headers, trunk)
        campaign_id = provisioning.campaign(
            http,
            tenant.headers,
            {**campaign, "agent_id": tenant.agent_id, "trunk_id": trunk_id},
        )
        for row in rows:
            inserted = provisioning.import_contacts(
                http, tenant.headers, campaign_id, [row], "a contact"
            )
            assert inserted == 1, row
        provisioning.command(http, tenant.headers, campaign_id, "start", "start")
    return Seeded(campaign_id, tenant.headers)
