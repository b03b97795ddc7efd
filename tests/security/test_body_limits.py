"""Body limits and malformed bodies, on the API (the real Mongo-wire server and Redis) and on a
fleet worker: too large is 413 whether the size is announced (`Content-Length`) or found while
streaming (chunked), a malformed JSON or CSV body is a 4xx naming the body, never a 500, and
nothing is stored past a limit. The limits are the settings' (docs/security.md); the fleet's
agrees with its nginx template's `client_max_body_size`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from litestar.testing import TestClient

from apps.api.deps import build_deps, memory_deps
from apps.api.main import create_app
from apps.api.settings import Settings as ApiSettings
from apps.fleet.settings import Backend as FleetBackend
from apps.fleet.settings import Settings as FleetSettings
from tests.api.support import (
    ADMIN_KEY,
    AGENT,
    INTERNAL,
    INTERNAL_TOKEN,
    TenantSession,
    assert_error,
    campaign_body,
    make_campaign,
    make_tenant,
    post_streamed,
)
from tests.api.webhooks import caller_joined, signed
from tests.fleet.support import worker_app
from tests.integration.infra.support import INFRA, attach_body

pytestmark = pytest.mark.integration

JSON_LIMIT = 64 * 1024
IMPORT_LIMIT = 256 * 1024
CSV = {"content-type": "text/csv"}


@attrs.frozen
class Api:
    client: TestClient[Any]
    settings: ApiSettings
    tenant: TenantSession


@pytest.fixture
def api(real_settings: ApiSettings) -> Iterator[Api]:
    settings = attrs.evolve(real_settings, max_body_bytes=JSON_LIMIT, import_max_bytes=IMPORT_LIMIT)
    with TestClient(create_app(settings, build_deps(settings))) as client:
        yield Api(client, settings, make_tenant(client, "Acme"))


def csv_rows(count: int, start: int = 0) -> bytes:
    return b"".join(f"+1415{n:07d},x\n".encode() for n in range(start, start + count))


def counts(api: Api, campaign_id: str) -> int:
    path = f"/v1/campaigns/{campaign_id}/contacts/counts"
    total: int = api.client.get(path, headers=api.tenant.headers).json()["total"]
    return total


def test_a_json_body_over_the_limit_is_413_and_stores_nothing(api: Api) -> None:
    padded = campaign_body(api.tenant, name="big", padding="x" * JSON_LIMIT)
    answer = api.client.post("/v1/campaigns", json=padded, headers=api.tenant.headers)
    assert_error(answer, 413, None, "too_large")
    assert api.client.get("/v1/campaigns", headers=api.tenant.headers).json() == []
    # The same body just under the limit is read (and refused for its unknown field).
    small = campaign_body(api.tenant, name="small", padding="x" * (JSON_LIMIT // 2))
    assert_error(
        api.client.post("/v1/campaigns", json=small, headers=api.tenant.headers), 400, "padding"
    )


def streamed(api: Api, path: str, headers: dict[str, str], chunks: Iterator[bytes]) -> Any:
    """`post_streamed` on the test client's own event loop, where the app's Redis client
    lives."""
    return api.client.blocking_portal.call(post_streamed, api.client.app, path, headers, chunks)


def test_a_chunked_json_body_over_the_limit_is_413(api: Api) -> None:
    text = json.dumps(campaign_body(api.tenant, name="big", padding="x" * JSON_LIMIT)).encode()
    chunks = iter([text[i : i + 8192] for i in range(0, len(text), 8192)])
    headers = api.tenant.headers | {"content-type": "application/json"}
    status, body = streamed(api, "/v1/campaigns", headers, chunks)
    assert (status, body["error"]) == (413, "too_large"), body
    assert api.client.get("/v1/campaigns", headers=api.tenant.headers).json() == []


def test_an_import_announced_over_its_limit_is_413_before_a_row_is_stored(api: Api) -> None:
    campaign_id = make_campaign(api.client, api.tenant)
    body = b"phone,note\n" + csv_rows(IMPORT_LIMIT // 10)
    assert len(body) > IMPORT_LIMIT
    path = f"/v1/campaigns/{campaign_id}/contacts/import"
    answer = api.client.post(path, content=body, headers=api.tenant.headers | CSV)
    assert_error(answer, 413, None, "too_large")
    assert counts(api, campaign_id) == 0


def test_a_streamed_import_over_its_limit_is_413_with_the_rows_before_it_stored(
    api: Api,
) -> None:
    campaign_id = make_campaign(api.client, api.tenant)
    parts = [b"phone,note\n"] + [csv_rows(1000, start=n * 1000) for n in range(20)]
    assert sum(map(len, parts)) > IMPORT_LIMIT
    path = f"/v1/campaigns/{campaign_id}/contacts/import"
    status, report = streamed(api, path, api.tenant.headers | CSV, iter(parts))
    assert status == 413, report
    assert (report["error"], report["field"], report["complete"]) == ("too_large", "body", False)
    assert f"over the limit of {IMPORT_LIMIT} bytes" in report["errors"][-1]["reason"]
    # What came in before the limit is stored, as the report says.
    assert report["inserted"] == counts(api, campaign_id) > 0


def test_malformed_json_and_csv_are_400s_naming_the_body(api: Api) -> None:
    headers = api.tenant.headers | {"content-type": "application/json"}
    for path, body in [
        ("/v1/campaigns", b'{"name": '),
        ("/v1/agents", b"\xff\xfe"),
        ("/v1/dnc", b"[1, 2"),
    ]:
        assert_error(api.client.post(path, content=body, headers=headers), 400, "body")
    internal = INTERNAL | {"content-type": "application/json"}
    answer = api.client.post("/v1/internal/call-events", content=b"{]", headers=internal)
    assert_error(answer, 400, "body")
    campaign_id = make_campaign(api.client, api.tenant)
    path = f"/v1/campaigns/{campaign_id}/contacts/import"
    for body, reason in [
        (b'phone\n"+14155550100\n', "unexpected end of data"),
        (b"phone\n+1415\xff5550100\n", "not UTF-8"),
        (b"name\nAnn\n", "no `phone` column"),
    ]:
        answer = api.client.post(path, content=body, headers=api.tenant.headers | CSV)
        assert answer.status_code == 400, answer.text
        assert reason in answer.json()["message"], answer.text


def test_a_webhook_over_its_limit_is_413(api: Api) -> None:
    body, headers = signed(caller_joined(), body="x" * (1024 * 1024 + 1))
    answer = api.client.post("/v1/livekit/webhook", content=body, headers=headers)
    assert answer.status_code == 413, answer.text


def test_the_default_import_limit_takes_a_100k_row_file() -> None:
    """The default `VOX_API_IMPORT_MAX_BYTES` with room to spare: a 100 000-row CSV with a few
    variables per row, imported whole (the memory backend: this is about the limit, and the
    Mongo-wire test server scans)."""
    settings = ApiSettings(
        admin_key=ADMIN_KEY,
        internal_token=INTERNAL_TOKEN,
        rate_limit_per_s=1000.0,
        rate_limit_burst=1000,
    )
    rows = 100_000
    body = b"phone,name,amount,due\n" + b"".join(
        f"+1415{n:07d},Customer number {n},{n % 997}.50,2026-12-01\n".encode() for n in range(rows)
    )
    assert len(body) < settings.import_max_bytes // 50
    with TestClient(create_app(attrs.evolve(settings, backend="memory"), memory_deps())) as client:
        tenant = make_tenant(client, "Bulk")
        campaign_id = make_campaign(client, tenant)
        path = f"/v1/campaigns/{campaign_id}/contacts/import"
        answer = client.post(path, content=body, headers=tenant.headers | CSV)
        assert answer.status_code == 200, answer.text[:500]
        assert (answer.json()["inserted"], answer.json()["complete"]) == (rows, True)


@pytest.fixture
def fleet(tmp_path: Path) -> FleetSettings:
    return FleetSettings(
        worker="8",
        host="fleet-limits",
        backend=FleetBackend.MEMORY,
        api_token=INTERNAL_TOKEN,
        spool_dir=str(tmp_path / "spool"),
        media_wait_s=0.5,
    )


def test_the_fleets_limit_is_its_nginx_templates(fleet: FleetSettings) -> None:
    template = (INFRA / "nginx" / "voxcore-fleet.conf.template").read_text()
    (size,) = re.findall(r"^\s*client_max_body_size (\d+)m;", template, re.MULTILINE)
    assert fleet.max_body_bytes == int(size) * 1024 * 1024


def test_a_fleet_body_over_the_limit_or_malformed_is_refused_and_claims_no_slot(
    fleet: FleetSettings,
) -> None:
    with TestClient(worker_app(fleet)) as client:
        big = attach_body("call-big") | {"variables": {"note": "x" * fleet.max_body_bytes}}
        for body, status in [
            (json.dumps(big).encode(), 413),
            (b'{"call_id": ', 400),
            (b"\x00\x01\x02", 400),
            (json.dumps(attach_body("call-1") | {"media": {"kind": "fax"}}).encode(), 400),
        ]:
            answer = client.post(
                "/attach",
                content=body,
                headers=INTERNAL | {"content-type": "application/json"},
            )
            assert answer.status_code == status, answer.text
            assert answer.json()["message"], answer.text
            assert client.get("/health").json()["slot"]["state"] == "idle"
        # The worker is none the worse: the next attach takes the slot.
        answer = client.post("/attach", json=attach_body("call-2"), headers=INTERNAL)
        assert answer.status_code == 202, answer.text


def test_the_default_json_limit_takes_the_longest_agent() -> None:
    """An agent with every text the schema bounds at its longest, in characters that JSON
    encoders escape as 12 bytes each (`ensure_ascii`, outside the BMP), fits the default
    `VOX_API_MAX_BODY_BYTES`."""
    settings = ApiSettings(admin_key=ADMIN_KEY, internal_token=INTERNAL_TOKEN, backend="memory")
    wide = "\U0001f4de"

    def text(length: int) -> str:
        return (AGENT["greeting"] + wide * length)[:length]

    agent = {
        "name": text(200),
        "greeting": text(2000),
        "instructions": text(50_000),
        "prompts": {f"p{n}": text(2000) for n in range(100)},
        "provider_settings": {f"s{n}": n for n in range(100)},
        "voicemail_policy": "leave_message",
        "voicemail_message": text(2000),
    }
    body = json.dumps(agent).encode()
    assert 3 * 1024 * 1024 > len(body) > 2 * 1024 * 1024
    with TestClient(create_app(settings, memory_deps())) as client:
        tenant = make_tenant(client, "Wide")
        headers = tenant.headers | {"content-type": "application/json"}
        answer = client.post("/v1/agents", content=body, headers=headers)
        assert answer.status_code == 201, answer.text[:300]
        over = json.dumps(agent | {"padding": "x" * settings.max_body_bytes}).encode()
        assert_error(client.post("/v1/agents", content=over, headers=headers), 413, None)
