"""The Console's origin through real nginx: its static files at `/`, the Backend API at `/v1/`
(rendered with `--api`), contact imports larger than the fleet routes' 1 MB body limit, and a
JSON 503 when the API is down."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import attrs
import httpx
import pytest

from tests.api.support import ADMIN_KEY, INTERNAL_TOKEN, make_campaign, make_tenant
from tests.integration.infra.support import Nginx, shared_dir
from voxcore_adapters.testing.asgi_server import served, url
from voxcore_adapters.testing.process import ServerProcess

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


@attrs.frozen
class ConsoleHost:
    nginx: Nginx
    api: ServerProcess


@pytest.fixture(scope="module")
def host() -> Iterator[ConsoleHost]:
    home = shared_dir("vox-console-host-")
    console = home / "console"
    shutil.copytree(ROOT / "apps" / "console" / "static", console)
    for path in [console, *console.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    api = served(
        "api",
        "apps.api.main:create_app",
        {
            "VOX_API_ADMIN_KEY": ADMIN_KEY,
            "VOX_API_INTERNAL_TOKEN": INTERNAL_TOKEN,
            "VOX_API_BACKEND": "memory",
        },
    ).start()
    site = home / "console.conf"
    nginx = Nginx(site)
    try:
        nginx.for_workers(1, home, console, api=url(api))
        yield ConsoleHost(nginx.start(), api)
    finally:
        nginx.stop()
        api.stop()
        shutil.rmtree(home, ignore_errors=True)


def test_the_console_and_the_api_share_one_origin(host: ConsoleHost) -> None:
    page = httpx.get(f"{host.nginx.url}/")
    assert page.status_code == 200
    assert "VoxBridge Console" in page.text
    assert httpx.get(f"{host.nginx.url}/js/app.js").status_code == 200
    # The API's own answers come back unchanged: its 401 in its JSON, and with the admin key,
    # the tenants it holds.
    refused = httpx.get(f"{host.nginx.url}/v1/campaigns")
    assert refused.status_code == 401
    assert refused.json()["error"] == "unauthorized"
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    made = httpx.post(f"{host.nginx.url}/v1/tenants", json={"name": "Acme"}, headers=admin)
    assert made.status_code == 201, made.text


def test_an_import_bigger_than_the_fleet_body_limit_reaches_the_api(host: ConsoleHost) -> None:
    with httpx.Client(base_url=host.nginx.url, timeout=60) as client:
        tenant = make_tenant(client, "Importers")
        campaign_id = make_campaign(client, tenant)
        note = "n" * 120
        rows = "".join(f"+1415{n:07d},{note}\n" for n in range(20_000))
        body = ("phone,note\n" + rows).encode()  # 2.6 MB, over the fleet routes' 1 MB
        sent = client.post(
            f"/v1/campaigns/{campaign_id}/contacts/import",
            content=body,
            headers=tenant.headers | {"Content-Type": "text/csv"},
        )
    # The API read the whole body and answered for itself.
    assert sent.status_code == 200, sent.text[:500]
    report = sent.json()
    assert (report["rows"], report["inserted"]) == (20_000, 20_000), report["errors"][:3]


def test_the_api_down_is_a_json_503(host: ConsoleHost) -> None:
    host.api.stop()
    down = httpx.get(f"{host.nginx.url}/v1/campaigns")
    assert down.status_code == 503
    assert down.headers["Retry-After"] == "5"
    assert down.json()["error"] == "unavailable"
