"""`/v1/dnc`: the tenant's do-not-call list."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from apps.api.dnc import MAX_NUMBERS
from tests.api.support import TenantSession, assert_error

A, B, C = "+14155550101", "+14155550102", "+442071838750"


def test_numbers_are_added_checked_and_removed(
    client: TestClient[Any], acme: TenantSession
) -> None:
    added = client.post("/v1/dnc", json={"phones": [A, B, A]}, headers=acme.headers)
    assert (added.status_code, added.json()) == (200, {"added": 2})
    assert client.post("/v1/dnc", json={"phones": [B, C]}, headers=acme.headers).json() == {
        "added": 1
    }
    checked = client.post(
        "/v1/dnc/check", json={"phones": [C, "+15550000000", A]}, headers=acme.headers
    )
    assert checked.json() == {"blocked": [A, C]}
    assert client.get(f"/v1/dnc/{A}", headers=acme.headers).json() == {"phone": A, "blocked": True}
    # A `+` may come percent-encoded in a path.
    assert client.get("/v1/dnc/%2B14155550101", headers=acme.headers).json()["blocked"] is True
    assert client.delete(f"/v1/dnc/{A}", headers=acme.headers).status_code == 204
    assert client.get(f"/v1/dnc/{A}", headers=acme.headers).json()["blocked"] is False
    assert_error(client.delete(f"/v1/dnc/{A}", headers=acme.headers), 404, "phone", "not_found")
    assert client.post("/v1/dnc", json={"phones": []}, headers=acme.headers).json() == {"added": 0}


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 400, "phones"),
        ({"phones": A}, 400, "phones"),
        ({"phones": [1415]}, 400, "phones[0]"),
        ({"phones": ["+1" + "5" * 30]}, 400, "phones[0]"),
        ({"phones": [A, "0044 20 7183 8750"]}, 422, "phone"),
        ({"phones": [A] * (MAX_NUMBERS + 1)}, 400, "phones"),
    ],
)
def test_bad_numbers_are_refused_naming_the_field(
    client: TestClient[Any], acme: TenantSession, body: dict[str, Any], status: int, field: str
) -> None:
    for path in ("/v1/dnc", "/v1/dnc/check"):
        assert_error(client.post(path, json=body, headers=acme.headers), status, field)
    assert client.get(f"/v1/dnc/{A}", headers=acme.headers).json()["blocked"] is False


@pytest.mark.parametrize("number", ["4155550101", "+0155", "abc"])
def test_a_bad_number_in_the_path_is_422(
    client: TestClient[Any], acme: TenantSession, number: str
) -> None:
    assert_error(client.get(f"/v1/dnc/{number}", headers=acme.headers), 422, "phone")
    assert_error(client.delete(f"/v1/dnc/{number}", headers=acme.headers), 422, "phone")
