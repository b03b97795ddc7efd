"""The API's authorization matrix: every route of the app's route table × every kind of caller
→ the status it gets, on the real Mongo-wire server and Redis.

The callers: nobody (no `Authorization`), tenant A's key, tenant B's key, the admin key (acting
for A with `X-Vox-Tenant` on a tenant's routes) and the internal token. Every request names A's
objects: B holding A's ids gets exactly what an unknown id gets (404), or a 422 when A's id is a
reference in B's body; never A's data. A refused request changes nothing: the database is the
same before and after it, and the first allowed caller then does the same thing to the same
object successfully (had B started, paused or deleted A's object, A's own request would fail).

The route table is read from the app: a route without a row here fails
`test_every_route_has_a_row`, so a new route cannot ship without saying who may call it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
import pymongo
import pytest
from litestar.testing import TestClient

from apps.api.deps import Deps, build_deps
from apps.api.main import create_app
from apps.api.settings import Settings
from tests.api.support import (
    ADMIN,
    AGENT,
    INTERNAL,
    TenantSession,
    assert_error,
    campaign_body,
    make_campaign,
    make_tenant,
)
from tests.security.support import route_table
from voxcore_domain.model import CallAttempt

pytestmark = pytest.mark.integration

CALLERS = ("anonymous", "a", "b", "admin", "internal")


@attrs.frozen
class World:
    client: TestClient[Any]
    deps: Deps
    a: TenantSession
    b: TenantSession
    database: pymongo.database.Database[dict[str, Any]]

    def headers(self, caller: str) -> dict[str, str]:
        return {
            "anonymous": {},
            "a": self.a.headers,
            "b": self.b.headers,
            "admin": ADMIN | {"X-Vox-Tenant": self.a.id},
            "internal": INTERNAL,
        }[caller]

    def as_a(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.client.request(method, path, headers=self.a.headers, **kwargs)
        assert answer.is_success, answer.text
        return answer.json() if answer.content else None


@attrs.frozen
class Request:
    """One request on objects of A's made for it."""

    path: str
    json: Any = None
    content: bytes | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict)


Setup = Callable[[World], Request]


def fixed(path: str, **kwargs: Any) -> Setup:
    return lambda _: Request(path, **kwargs)


def unique(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex[:10]


def phone() -> str:
    return f"+1415{uuid.uuid4().int % 10_000_000:07d}"


def campaign(world: World, *moves: str) -> str:
    campaign_id = make_campaign(world.client, world.a, name=unique("c-"))
    for move in moves:
        world.as_a("POST", f"/v1/campaigns/{campaign_id}/{move}")
    return campaign_id


def agent(world: World) -> str:
    created = world.as_a("POST", "/v1/agents", json=AGENT | {"name": unique("agent-")})
    return str(created["id"])


def trunk(world: World) -> str:
    body = {"name": unique("trunk-"), "livekit_trunk_id": "ST_x", "caller_ids": [phone()]}
    return str(world.as_a("POST", "/v1/trunks", json=body)["id"])


def api_key(world: World) -> str:
    issued = world.as_a("POST", f"/v1/tenants/{world.a.id}/api-keys", json={"name": "k"})
    return str(issued["key"]["id"])


def blocked_number(world: World) -> str:
    number = phone()
    world.as_a("POST", "/v1/dnc", json={"phones": [number]})
    return number


def inbound_number(world: World) -> str:
    body = {"number": phone(), "agent_id": world.a.agent_id}
    return str(world.as_a("POST", "/v1/inbound-numbers", json=body)["id"])


def fleet_host(world: World) -> str:
    host_id = unique("host-")
    body = {"id": host_id, "url": "http://10.0.0.9:8000"}
    created = world.client.post("/v1/fleet-hosts", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    return host_id


def call(world: World) -> CallAttempt:
    """A call of A's as the dialler records it."""
    campaign_id = campaign(world, "start")
    attempt = CallAttempt(
        unique("call-"),
        unique("contact-"),
        campaign_id,
        world.a.id,
        1,
        unique("lease-"),
        datetime.now(UTC),
    )
    world.deps.call_log.record(attempt)
    return attempt


def call_event(world: World) -> Request:
    attempt = call(world)
    body = {
        "call_id": attempt.id,
        "sequence": 1,
        "kind": "attached",
        "at": datetime.now(UTC).isoformat(),
        "tenant_id": attempt.tenant_id,
        "campaign_id": attempt.campaign_id,
        "lease_token": attempt.lease_token,
        "worker": "host-1/1",
    }
    return Request("/v1/internal/call-events", json=body)


@attrs.frozen
class Row:
    method: str
    route: str
    """The path as the route table has it, parameters without their types."""
    setup: Setup
    statuses: tuple[int, int, int, int, int]
    """What each of `CALLERS` gets."""


def row(method: str, route: str, setup: Setup, *statuses: int) -> Row:
    assert len(statuses) == len(CALLERS), (method, route)
    return Row(
        method, route, setup, (statuses[0], statuses[1], statuses[2], statuses[3], statuses[4])
    )


def in_campaign(suffix: str, *moves: str, **kwargs: Any) -> Setup:
    return lambda w: Request(f"/v1/campaigns/{campaign(w, *moves)}{suffix}", **kwargs)


def owned(route: str, make: Callable[[World], str], change: dict[str, Any]) -> tuple[Row, ...]:
    """GET, PATCH (with `change`) and DELETE of one of A's objects, which `make` makes for each
    request (its id is `route`'s one parameter): A's key and the admin acting for A may; B
    finds nothing, as for an unknown id."""

    def at(**kwargs: Any) -> Setup:
        return lambda w: Request(_PARAMETER.sub(lambda _: make(w), route), **kwargs)

    return (
        row("GET", route, at(), 401, 200, 404, 200, 403),
        row("PATCH", route, at(json=change), 401, 200, 404, 200, 403),
        row("DELETE", route, at(), 401, 204, 404, 204, 403),
    )


_PARAMETER = re.compile(r"\{\w+\}")

CSV = {"content": b"phone\n+14155550101\n", "headers": {"content-type": "text/csv"}}

MATRIX: tuple[Row, ...] = (
    # The platform's own routes: the admin only (its key acts for no tenant here).
    row("GET", "/v1/tenants", fixed("/v1/tenants"), 401, 403, 403, 200, 403),
    row(
        "POST",
        "/v1/tenants",
        lambda _: Request("/v1/tenants", json={"name": unique("t-")}),
        401, 403, 403, 201, 403,
    ),
    row(
        "GET", "/v1/tenants/{tenant_id}", lambda w: Request(f"/v1/tenants/{w.a.id}"),
        401, 200, 404, 200, 403,
    ),
    row(
        "PATCH",
        "/v1/tenants/{tenant_id}",
        lambda w: Request(f"/v1/tenants/{w.a.id}", json={"weight": 2.0}),
        401, 403, 403, 200, 403,
    ),
    row(
        "GET",
        "/v1/tenants/{tenant_id}/api-keys",
        lambda w: Request(f"/v1/tenants/{w.a.id}/api-keys"),
        401, 200, 404, 200, 403,
    ),
    row(
        "POST",
        "/v1/tenants/{tenant_id}/api-keys",
        lambda w: Request(f"/v1/tenants/{w.a.id}/api-keys", json={"name": "crm"}),
        401, 201, 404, 201, 403,
    ),
    row(
        "DELETE",
        "/v1/tenants/{tenant_id}/api-keys/{key_id}",
        lambda w: Request(f"/v1/tenants/{w.a.id}/api-keys/{api_key(w)}"),
        401, 204, 404, 204, 403,
    ),
    # A tenant's objects: its own key, or the admin acting for it.
    row("GET", "/v1/agents", fixed("/v1/agents"), 401, 200, 200, 200, 403),
    row(
        "POST",
        "/v1/agents",
        lambda _: Request("/v1/agents", json=AGENT),
        401, 201, 201, 201, 403,
    ),
    *owned("/v1/agents/{agent_id}", agent, {"name": "renamed"}),
    row("GET", "/v1/campaigns", fixed("/v1/campaigns"), 401, 200, 200, 200, 403),
    row(
        "POST",
        "/v1/campaigns",
        # A's agent and trunk in B's body: refused as unknown references.
        lambda w: Request("/v1/campaigns", json=campaign_body(w.a, name=unique("c-"))),
        401, 201, 422, 201, 403,
    ),
    row("GET", "/v1/campaigns/{campaign_id}", in_campaign(""), 401, 200, 404, 200, 403),
    row(
        "PATCH",
        "/v1/campaigns/{campaign_id}",
        in_campaign("", json={"name": "renamed"}),
        401, 200, 404, 200, 403,
    ),
    row(
        "POST", "/v1/campaigns/{campaign_id}/start", in_campaign("/start"),
        401, 200, 404, 200, 403,
    ),
    row(
        "POST", "/v1/campaigns/{campaign_id}/pause", in_campaign("/pause", "start"),
        401, 200, 404, 200, 403,
    ),
    row(
        "POST",
        "/v1/campaigns/{campaign_id}/resume",
        in_campaign("/resume", "start", "pause"),
        401, 200, 404, 200, 403,
    ),
    row(
        "POST", "/v1/campaigns/{campaign_id}/complete", in_campaign("/complete", "start"),
        401, 200, 404, 200, 403,
    ),
    row(
        "GET", "/v1/campaigns/{campaign_id}/contacts", in_campaign("/contacts"),
        401, 200, 404, 200, 403,
    ),
    row(
        "GET", "/v1/campaigns/{campaign_id}/contacts/counts", in_campaign("/contacts/counts"),
        401, 200, 404, 200, 403,
    ),
    row(
        "POST",
        "/v1/campaigns/{campaign_id}/contacts/import",
        in_campaign("/contacts/import", **CSV),
        401, 200, 404, 200, 403,
    ),
    # Statistics: the tenant and the dialler (internal); the admin reads no call data.
    row(
        "GET", "/v1/campaigns/{campaign_id}/stats", in_campaign("/stats"),
        401, 200, 404, 403, 200,
    ),
    row(
        "POST",
        "/v1/dnc",
        lambda _: Request("/v1/dnc", json={"phones": [phone()]}),
        401, 200, 200, 200, 403,
    ),
    row(
        "POST",
        "/v1/dnc/check",
        lambda w: Request("/v1/dnc/check", json={"phones": [blocked_number(w)]}),
        401, 200, 200, 200, 403,
    ),
    row(
        "GET", "/v1/dnc/{phone}", lambda w: Request(f"/v1/dnc/{blocked_number(w)}"),
        401, 200, 200, 200, 403,
    ),
    row(
        "DELETE", "/v1/dnc/{phone}", lambda w: Request(f"/v1/dnc/{blocked_number(w)}"),
        401, 204, 404, 204, 403,
    ),
    row("GET", "/v1/trunks", fixed("/v1/trunks"), 401, 200, 200, 200, 403),
    row(
        "POST",
        "/v1/trunks",
        lambda _: Request(
            "/v1/trunks",
            json={"name": unique("t-"), "livekit_trunk_id": "ST_y", "caller_ids": [phone()]},
        ),
        401, 201, 201, 201, 403,
    ),
    *owned("/v1/trunks/{trunk_id}", trunk, {"name": "renamed"}),
    row("GET", "/v1/inbound-numbers", fixed("/v1/inbound-numbers"), 401, 200, 200, 200, 403),
    row(
        "POST",
        "/v1/inbound-numbers",
        lambda w: Request(
            "/v1/inbound-numbers", json={"number": phone(), "agent_id": w.a.agent_id}
        ),
        401, 201, 422, 201, 403,
    ),
    *owned("/v1/inbound-numbers/{number_id}", inbound_number, {"enabled": False}),
    # Calls and their recordings: the tenant's key only.
    row("GET", "/v1/calls", fixed("/v1/calls"), 401, 200, 200, 403, 403),
    row(
        "GET", "/v1/calls/{call_id}", lambda w: Request(f"/v1/calls/{call(w).id}"),
        401, 200, 404, 403, 403,
    ),
    # The fleet's view and hosts: the admin manages hosts, the dialler reads them.
    row("GET", "/v1/fleet/slots", fixed("/v1/fleet/slots"), 401, 200, 200, 200, 200),
    row("GET", "/v1/fleet-hosts", fixed("/v1/fleet-hosts"), 401, 403, 403, 200, 200),
    row(
        "POST",
        "/v1/fleet-hosts",
        lambda _: Request("/v1/fleet-hosts", json={"id": unique("h-"), "url": "http://h:80"}),
        401, 403, 403, 201, 403,
    ),
    row(
        "GET", "/v1/fleet-hosts/{host_id}", lambda w: Request(f"/v1/fleet-hosts/{fleet_host(w)}"),
        401, 403, 403, 200, 200,
    ),
    row(
        "PATCH",
        "/v1/fleet-hosts/{host_id}",
        lambda w: Request(f"/v1/fleet-hosts/{fleet_host(w)}", json={"enabled": False}),
        401, 403, 403, 200, 403,
    ),
    row(
        "DELETE",
        "/v1/fleet-hosts/{host_id}",
        lambda w: Request(f"/v1/fleet-hosts/{fleet_host(w)}"),
        401, 403, 403, 204, 403,
    ),
    # The fleet's and the dialler's routes: the internal token only.
    row(
        "GET",
        "/v1/runtime-config/{agent_id}",
        lambda w: Request(f"/v1/runtime-config/{w.a.agent_id}"),
        401, 403, 403, 403, 200,
    ),
    row("POST", "/v1/internal/call-events", call_event, 401, 403, 403, 403, 202),
    # Signed by LiveKit, not by any key: every key is refused.
    row(
        "POST",
        "/v1/livekit/webhook",
        fixed("/v1/livekit/webhook", content=b"{}", headers={"content-type": "application/json"}),
        401, 401, 401, 401, 401,
    ),
    # Public: load balancers, Prometheus, and the API's documentation.
    row("GET", "/health", fixed("/health"), 200, 200, 200, 200, 200),
    row("GET", "/metrics", fixed("/metrics"), 200, 200, 200, 200, 200),
    row("GET", "/schema", fixed("/schema"), 200, 200, 200, 200, 200),
    row("GET", "/schema/openapi.json", fixed("/schema/openapi.json"), 200, 200, 200, 200, 200),
    row("GET", "/schema/swagger", fixed("/schema/swagger"), 200, 200, 200, 200, 200),
    # A documentation page the API does not render: not found for anyone, no key asked.
    row("GET", "/schema/{path}", fixed("/schema/elements"), 404, 404, 404, 404, 404),
    row(
        "GET",
        "/schema/oauth2-redirect.html",
        fixed("/schema/oauth2-redirect.html"),
        200, 200, 200, 200, 200,
    ),
)  # fmt: skip


@pytest.fixture
def world(real_settings: Settings) -> Iterator[World]:
    deps = build_deps(real_settings)
    with TestClient(create_app(real_settings, deps)) as client:
        a = make_tenant(client, "Acme")
        b = make_tenant(client, "Globex")
        mongo: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(real_settings.mongo_url)
        try:
            yield World(client, deps, a, b, mongo[str(real_settings.mongo_database)])
        finally:
            mongo.close()


def snapshot(world: World) -> dict[str, list[dict[str, Any]]]:
    """Every document of the API's database."""
    database = world.database
    return {
        name: sorted(database[name].find(), key=lambda document: str(document["_id"]))
        for name in sorted(database.list_collection_names())
    }


def a_ids(world: World) -> set[str]:
    """Ids only A's objects have (for B's successful answers, which must not show them)."""
    return {world.a.id, world.a.key_id, world.a.agent_id, world.a.trunk_id}


def test_every_route_has_a_row(real_settings: Settings) -> None:
    app = create_app(real_settings, build_deps(real_settings))
    rows = [(r.method, r.route) for r in MATRIX]
    assert len(rows) == len(set(rows)), "a route has two rows"
    assert route_table(app) == set(rows)


@pytest.mark.parametrize("entry", MATRIX, ids=lambda r: f"{r.method} {r.route}")
def test_each_caller_gets_its_status_and_a_refusal_changes_nothing(
    world: World, entry: Row
) -> None:
    expected = dict(zip(CALLERS, entry.statuses, strict=True))
    refused = [c for c in CALLERS if expected[c] >= 400]
    allowed = [c for c in CALLERS if expected[c] < 400]
    target = entry.setup(world)
    before = snapshot(world)
    got: dict[str, int] = {}

    def send(caller: str, request: Request) -> Any:
        answer = world.client.request(
            entry.method,
            request.path,
            json=request.json,
            content=request.content,
            headers=world.headers(caller) | dict(request.headers),
        )
        got[caller] = answer.status_code
        assert answer.status_code != 500, answer.text
        return answer

    for caller in refused:
        answer = send(caller, target)
        if answer.status_code >= 400 and answer.headers.get("content-type") == "application/json":
            assert answer.json()["message"], answer.text
    if refused and entry.method != "GET":
        assert snapshot(world) == before, f"a refused {entry.method} changed the database"
    for index, caller in enumerate(allowed):
        # The first allowed caller acts on the very object the refused ones tried.
        answer = send(caller, target if index == 0 else entry.setup(world))
        if caller == "b":
            leaked = {i for i in a_ids(world) if i in answer.text}
            assert not leaked, f"B's answer shows A's ids {leaked}"
    assert got == expected


def test_only_the_admin_may_act_for_another_tenant(world: World) -> None:
    """`X-Vox-Tenant` naming A: B's key and the internal token are refused (403), whatever
    the route; the admin's acts for A."""
    mine = {"X-Vox-Tenant": world.a.id}
    for headers in (world.b.headers | mine, INTERNAL | mine):
        answer = world.client.get("/v1/campaigns", headers=headers)
        assert answer.status_code == 403, answer.text
    campaign_id = campaign(world)
    listed = world.client.get("/v1/campaigns", headers=ADMIN | mine).json()
    assert [c["id"] for c in listed] == [campaign_id]
    unknown = world.client.get("/v1/campaigns", headers=ADMIN | {"X-Vox-Tenant": "nobody"})
    assert unknown.status_code == 404


def test_b_cannot_point_its_own_objects_at_as(world: World) -> None:
    """A's ids in B's bodies and queries: refused as unknown references, or matching nothing."""
    client, b = world.client, world.b
    theirs = make_campaign(client, b, name="B's")
    for field, value in [("agent_id", world.a.agent_id), ("trunk_id", world.a.trunk_id)]:
        answer = client.patch(f"/v1/campaigns/{theirs}", json={field: value}, headers=b.headers)
        assert_error(answer, 422, field)
    body = {"number": phone(), "agent_id": b.agent_id}
    number = client.post("/v1/inbound-numbers", json=body, headers=b.headers).json()["id"]
    answer = client.patch(
        f"/v1/inbound-numbers/{number}", json={"agent_id": world.a.agent_id}, headers=b.headers
    )
    assert_error(answer, 422, "agent_id")
    attempt = call(world)
    found = client.get("/v1/calls", params={"campaign_id": attempt.campaign_id}, headers=b.headers)
    assert found.status_code == 200, found.text
    assert found.json()["items"] == []
    mine = client.get(
        "/v1/calls", params={"campaign_id": attempt.campaign_id}, headers=world.a.headers
    )
    assert [c["id"] for c in mine.json()["items"]] == [attempt.id]
