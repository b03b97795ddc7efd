"""The dialler's health server: every route of its route table × nobody, a tenant's key, the
admin key and the internal token. It is read-only and public on the SIP/LiveKit host's private
side (load balancer checks, Prometheus): every caller reads it alike, nothing writes through
it, and nothing it says holds a secret of the dialler's settings. The dialler runs as `build`
wires it, on the real Mongo-wire server and Redis (the simulated carrier places no call: there
is no campaign)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from apps.dialler.main import build, create_app
from apps.dialler.settings import Settings
from tests.api.support import INTERNAL_TOKEN
from tests.security.support import CALLERS, route_table

pytestmark = pytest.mark.integration

LIVEKIT_SECRET = "dialler-livekit-secret-" + "q" * 20

READS = {
    "/health": "/health",
    "/metrics": "/metrics",
    "/schema": "/schema",
    "/schema/openapi.json": "/schema/openapi.json",
    "/schema/openapi.yaml": "/schema/openapi.yaml",
    "/schema/openapi.yml": "/schema/openapi.yml",
    "/schema/swagger": "/schema/swagger",
    "/schema/redoc": "/schema/redoc",
    "/schema/rapidoc": "/schema/rapidoc",
    "/schema/elements": "/schema/elements",
    "/schema/oauth2-redirect.html": "/schema/oauth2-redirect.html",
}
"""Each GET route, and the path that reads it: 200 for every caller."""
NOT_FOUND = {"/schema/{path}": "/schema/nowhere"}
"""A documentation page the server does not render: 404 for every caller."""


@pytest.fixture
def settings(mongo_server_url: str, redis_server_url: str) -> Settings:
    run = uuid.uuid4().hex[:12]
    return Settings(
        owner=f"sec-{run}",
        loop_interval_s=0.05,
        mongo_url=f"{mongo_server_url.rstrip('/')}/vox_dialler_{run}",
        redis_url=redis_server_url,
        redis_prefix=f"vox-sec-{run}",
        livekit_api_key="APIdialler",
        livekit_api_secret=LIVEKIT_SECRET,
        internal_token=INTERNAL_TOKEN,
        telephony="sim",
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(settings, build(settings))) as client:
        yield client


def test_every_dialler_route_has_a_row(settings: Settings) -> None:
    app = create_app(settings, build(settings))
    rows = {("GET", route) for route in READS} | {("GET", route) for route in NOT_FOUND}
    assert route_table(app) == rows


def test_every_caller_reads_it_alike_and_nothing_writes_through_it(
    client: TestClient[Any],
) -> None:
    for headers in CALLERS.values():
        for path in READS.values():
            assert client.get(path, headers=headers).status_code == 200, path
        for path in NOT_FOUND.values():
            assert client.get(path, headers=headers).status_code == 404, path
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            answer = client.request(method, "/health", headers=headers, json={"role": "leader"})
            assert answer.status_code == 405, (method, answer.text)


def test_what_it_says_holds_no_secret(client: TestClient[Any], settings: Settings) -> None:
    health = client.get("/health").text + client.get("/metrics").text
    for secret in (LIVEKIT_SECRET, INTERNAL_TOKEN, settings.mongo_url, settings.redis_url):
        assert secret not in health
