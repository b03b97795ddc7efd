"""The fleet worker's authorization matrix: every route of its route table × nobody, a tenant's
API key, the admin key and the internal token → the status each gets, on a worker that has the
internal token (`VOX_FLEET_API_TOKEN`). The call-taking routes are the internal token's only; a
refused request claims no slot. A route without a row fails `test_every_fleet_route_has_a_row`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest
from litestar.testing import TestClient

from apps.fleet.settings import Backend, Settings
from tests.api.support import INTERNAL_TOKEN
from tests.fleet.support import PARAMETERS, CarrierOnSocket, worker_app
from tests.integration.infra.support import attach_body
from tests.security.support import CALLERS, route_table
from voxcore_adapters.testing.carrier import TwilioCarrier

WIDGET = {"agent_id": "agent-1", "tenant_id": "tenant-1"}
DIALOUT = WIDGET | {"phone": "+14155550123", "trunk_id": "ST_1"}


@attrs.frozen
class Row:
    method: str
    route: str
    path: str
    body: dict[str, Any] | None
    statuses: tuple[int, int, int, int]


def public(route: str) -> Row:
    """A GET route with no parameter that every caller reads alike."""
    return Row("GET", route, route, None, (200, 200, 200, 200))


MATRIX = (
    Row("POST", "/attach", "/attach", attach_body("call-m"), (401, 401, 401, 202)),
    # Past the token, this worker has no LiveKit key: 503, never a call.
    Row("POST", "/livekit/dialout", "/livekit/dialout", DIALOUT, (401, 401, 401, 503)),
    Row("POST", "/livekit/widget", "/livekit/widget", WIDGET, (401, 401, 401, 503)),
    *map(
        public,
        [
            "/health",
            "/metrics",
            "/schema",
            "/schema/openapi.json",
            "/schema/openapi.yaml",
            "/schema/openapi.yml",
            "/schema/elements",
            "/schema/swagger",
            "/schema/redoc",
            "/schema/rapidoc",
            "/schema/oauth2-redirect.html",
        ],
    ),
    # A documentation page the worker does not render: not found for anyone.
    Row("GET", "/schema/{path}", "/schema/nowhere", None, (404, 404, 404, 404)),
)
MEDIA = "/media/{carrier}"
"""The carriers' media streams: no token (a carrier cannot send one), see docs/security.md."""


@pytest.fixture
def guarded(tmp_path: Path) -> Settings:
    return Settings(
        worker="9",
        host="fleet-sec",
        backend=Backend.MEMORY,
        api_token=INTERNAL_TOKEN,
        spool_dir=str(tmp_path / "spool"),
        media_wait_s=0.5,
        media_idle_s=1.0,
    )


def test_every_fleet_route_has_a_row(guarded: Settings) -> None:
    rows = {(row.method, row.route) for row in MATRIX} | {("WS", MEDIA)}
    assert route_table(worker_app(guarded)) == rows


@pytest.mark.parametrize("entry", MATRIX, ids=lambda r: f"{r.method} {r.route}")
def test_each_caller_gets_its_status_and_a_refusal_claims_no_slot(
    guarded: Settings, entry: Row
) -> None:
    with TestClient(worker_app(guarded)) as client:
        got: dict[str, int] = {}
        for caller in CALLERS:
            answer = client.request(
                entry.method, entry.path, json=entry.body, headers=CALLERS[caller]
            )
            got[caller] = answer.status_code
            if answer.status_code == 401:
                assert answer.json()["message"].startswith("this route needs the internal token")
                assert answer.headers["WWW-Authenticate"] == "Bearer"
                assert client.get("/health").json()["slot"]["state"] == "idle"
        assert got == dict(zip(CALLERS, entry.statuses, strict=True))


def test_an_attach_with_the_token_is_followed_by_its_stream(guarded: Settings) -> None:
    """The token admits the dialler's attach, and the carrier's stream (which bears no token)
    then finds its call."""
    with TestClient(worker_app(guarded)) as client:
        body = attach_body(PARAMETERS["call_id"])
        assert client.post("/attach", json=body, headers=CALLERS["internal"]).status_code == 202
        with client.websocket_connect("/media/twilio") as ws:
            CarrierOnSocket(ws, TwilioCarrier(PARAMETERS)).answer()


def test_a_worker_without_a_token_takes_attaches_from_anyone(guarded: Settings) -> None:
    """The memory backend's demos and tests: no token configured, the routes are open (the
    worker warns at start, see docs/security.md)."""
    with TestClient(worker_app(attrs.evolve(guarded, api_token=None))) as client:
        assert client.post("/attach", json=attach_body("call-open")).status_code == 202
