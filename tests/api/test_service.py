"""`/health`, `/metrics`, the OpenAPI schema, and what no route does: answer 500."""

from __future__ import annotations

from typing import Any

import attrs
from litestar.testing import TestClient
from pymongo.errors import ServerSelectionTimeoutError

from apps.api.deps import Deps
from apps.api.main import create_app
from apps.api.settings import Settings
from tests.api.support import ADMIN, TenantSession, assert_error, bearer, make_campaign
from voxcore_adapters.fakes.api_keys import InMemoryApiKeys
from voxcore_adapters.fakes.tenants import InMemoryTenants
from voxcore_domain.apikeys import ApiKey
from voxcore_domain.model import Tenant


async def answers() -> None:
    return None


async def refuses() -> None:
    raise ConnectionRefusedError("nobody listens")


def test_health_on_fakes_checks_nothing(client: TestClient[Any]) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {}}


def test_health_is_ok_when_every_dependency_answers(settings: Settings, deps: Deps) -> None:
    answering = attrs.evolve(deps, checks={"mongo": answers, "redis": answers})
    with TestClient(create_app(settings, answering)) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"mongo": "ok", "redis": "ok"}}


def test_health_is_503_naming_the_dependency_that_fails(settings: Settings, deps: Deps) -> None:
    failing = attrs.evolve(deps, checks={"mongo": answers, "redis": refuses})
    with TestClient(create_app(settings, failing)) as client:
        response = client.get("/health")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"mongo": "ok", "redis": "error: ConnectionRefusedError"},
    }


def test_metrics_count_requests_by_route_template(
    client: TestClient[Any], acme: TenantSession
) -> None:
    campaign = make_campaign(client, acme)
    client.get(f"/v1/campaigns/{campaign}", headers=acme.headers)
    client.get("/v1/campaigns/nope", headers=acme.headers)
    client.get("/v1/campaigns", headers={})
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    one = 'route="/v1/campaigns/{campaign_id}"'
    assert f'vox_api_requests_total{{method="GET",{one},status="200"}} 1.0' in text
    assert f'vox_api_requests_total{{method="GET",{one},status="404"}} 1.0' in text
    assert 'vox_api_requests_total{method="GET",route="/v1/campaigns",status="401"} 1.0' in text
    assert "vox_api_request_seconds_bucket" in text
    assert campaign not in text


def test_the_schema_describes_every_route_and_the_error_shape(client: TestClient[Any]) -> None:
    schema = client.get("/schema/openapi.json").json()
    assert schema["info"]["title"] == "VoxBridge Backend API"
    paths = schema["paths"]
    for path in [
        "/v1/tenants",
        "/v1/tenants/{tenant_id}",
        "/v1/tenants/{tenant_id}/api-keys",
        "/v1/tenants/{tenant_id}/api-keys/{key_id}",
        "/v1/campaigns",
        "/v1/campaigns/{campaign_id}",
        "/v1/campaigns/{campaign_id}/start",
        "/v1/campaigns/{campaign_id}/contacts",
        "/v1/campaigns/{campaign_id}/contacts/counts",
        "/v1/campaigns/{campaign_id}/contacts/import",
        "/v1/dnc",
        "/v1/dnc/check",
        "/v1/dnc/{phone}",
        "/health",
    ]:
        assert path in paths, path
    create = paths["/v1/campaigns"]["post"]
    assert create["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_an_unreachable_store_is_503_not_500(settings: Settings, deps: Deps) -> None:
    class DownTenants(InMemoryTenants):
        def all(self) -> list[Tenant]:
            raise ServerSelectionTimeoutError("mongo:27017: connection refused")

    down = attrs.evolve(deps, tenants=DownTenants())
    with TestClient(create_app(settings, down)) as client:
        response = client.get("/v1/tenants", headers=ADMIN)
    assert_error(response, 503, None, "unavailable")
    assert response.headers["Retry-After"] == "5"


def test_an_unreachable_key_store_is_503_not_500(settings: Settings, deps: Deps) -> None:
    class DownKeys(InMemoryApiKeys):
        def get(self, key_id: str) -> ApiKey | None:
            raise ServerSelectionTimeoutError("mongo:27017: connection refused")

    down = attrs.evolve(deps, api_keys=DownKeys())
    with TestClient(create_app(settings, down)) as client:
        response = client.get("/v1/campaigns", headers=bearer("vbk_0123456789abcdef_" + "x" * 43))
        assert_error(response, 503, None, "unavailable")
        # The admin key needs no store: it still works.
        assert client.get("/v1/tenants", headers=ADMIN).status_code == 200


def test_unknown_routes_and_methods_answer_in_the_error_shape(client: TestClient[Any]) -> None:
    assert_error(client.get("/v2/campaigns", headers=ADMIN), 404, None, "not_found")
    assert_error(client.put("/v1/tenants", headers=ADMIN), 405, None, "method_not_allowed")
