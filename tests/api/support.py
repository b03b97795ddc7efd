"""Helpers the API tests share: an admin's view of a running app, and tenants made through it."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import attrs
import httpx
import pymongo
from litestar import Litestar
from litestar.types import Message, Receive

from apps.api.settings import Backend, Settings
from voxcore_adapters.testing import provisioning as provision

ADMIN_KEY = "admin-" + "a" * 40
INTERNAL_TOKEN = "internal-" + "i" * 40

CAMPAIGN = {
    "name": "June reminders",
    "agent_id": "agent-1",
    "trunk_id": "trunk-1",
    "caller_id": "+14155550100",
}
"""The least a campaign needs, but for `agent_id` and `trunk_id`: one of the tenant's agents and
trunks (`TenantSession.agent_id`, `.trunk_id`, see `campaign_body`)."""

TRUNK = {"name": "Main", "livekit_trunk_id": "ST_main", "caller_ids": ["+14155550100"]}
"""A trunk that may present `CAMPAIGN`'s caller id."""

AGENT = {
    "name": "Reminders",
    "greeting": "Hello, this is an automated assistant calling for Acme Dental.",
}
"""The least an agent needs."""


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ADMIN = bearer(ADMIN_KEY)
INTERNAL = bearer(INTERNAL_TOKEN)


@attrs.frozen
class TenantSession:
    """A tenant made through the API, with an API key of its own."""

    id: str
    key_id: str
    token: str = attrs.field(repr=False)
    agent_id: str
    """An agent of the tenant's, for its campaigns."""
    trunk_id: str
    """A trunk of the tenant's, for its campaigns."""

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


def make_tenant(client: httpx.Client, name: str) -> TenantSession:
    """A new tenant and a key for it, made by the admin as an operator would."""
    made = provision.tenant(client, ADMIN_KEY, name, key_name="crm", agent=AGENT)
    trunk_id = provision.trunk(client, made.headers, TRUNK)
    return TenantSession(made.id, made.key_id, made.token, made.agent_id, trunk_id)


def campaign_body(tenant: TenantSession, **fields: Any) -> dict[str, Any]:
    """`CAMPAIGN` with the tenant's agent and trunk, and `fields`."""
    return CAMPAIGN | {"agent_id": tenant.agent_id, "trunk_id": tenant.trunk_id} | fields


def daytime_zone(now: datetime | None = None) -> str:
    """A fixed-offset time zone in which `now` (the wall clock by default) is around noon, so a
    test that leases on the real clock finds its contacts inside the default 08:00–21:00 window
    whenever it runs."""
    hour = (now or datetime.now(UTC)).hour
    offset = 12 - hour
    # POSIX-style names: `Etc/GMT-3` is three hours *ahead* of UTC.
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def make_campaign(client: httpx.Client, tenant: TenantSession, **fields: Any) -> str:
    return provision.campaign(client, tenant.headers, campaign_body(tenant, **fields))


def assert_error(response: Any, status: int, field: str | None, error: str | None = None) -> None:
    """`response` is an error of `status` whose body names `field`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body.get("field") == field, body
    assert body["message"], body
    if error is not None:
        assert body["error"] == error, body


async def post_streamed(
    app: Litestar, path: str, headers: dict[str, str], chunks: Iterator[bytes]
) -> tuple[int, Any]:
    """POST `chunks` to `app` one ASGI message at a time, each produced only when the app asks
    for it (the test client reads a body whole before sending it); the status and JSON body."""
    # The ASGI scope a server would build for this request (typed loosely: a TypedDict union).
    scope: Any = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    sent: list[Message] = []

    async def receive() -> Any:
        chunk = next(chunks, None)
        return {"type": "http.request", "body": chunk or b"", "more_body": chunk is not None}

    async def send(message: Message) -> None:
        sent.append(message)

    receiver: Receive = receive
    await app(scope, receiver, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return int(status), json.loads(body)


@contextlib.contextmanager
def real_backend(mongo_url: str, redis_url: str, **more: Any) -> Iterator[Settings]:
    """Settings for the `real` backend with a database and a Redis key prefix of the block's
    own (`more` sets or overrides any other field); the database is dropped after the block."""
    run = uuid.uuid4().hex[:12]
    fields: dict[str, Any] = {
        "admin_key": ADMIN_KEY,
        "internal_token": INTERNAL_TOKEN,
        "backend": Backend.REAL,
        "mongo_url": mongo_url,
        "mongo_database": f"vox_api_{run}",
        "redis_url": redis_url,
        "redis_prefix": f"vox-test-{run}",
        "rate_limit_per_s": 1000.0,
        "rate_limit_burst": 1000,
    }
    yield Settings(**(fields | more))
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(mongo_url)
    client.drop_database(f"vox_api_{run}")
    client.close()
