"""`/v1/campaigns/{id}/contacts`: the streamed import over HTTP, listing and counts."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import attrs
import pytest
from litestar.testing import TestClient

from apps.api.contact_import import MAX_REPORTED_ERRORS
from apps.api.deps import memory_deps
from apps.api.main import create_app
from apps.api.settings import Settings
from tests.api.support import (
    TenantSession,
    assert_error,
    make_campaign,
    make_tenant,
    post_streamed,
)
from voxcore_domain.model import Contact
from voxcore_domain.ports import ImportReport

CSV = {"content-type": "text/csv"}
JSON = {"content-type": "application/json"}
NDJSON = {"content-type": "application/x-ndjson"}


def phone(n: int) -> str:
    return f"+1415{n:07d}"


def import_into(
    client: TestClient[Any],
    tenant: TenantSession,
    campaign_id: str,
    body: Any,
    kind: dict[str, str],
) -> Any:
    return client.post(
        f"/v1/campaigns/{campaign_id}/contacts/import", content=body, headers=tenant.headers | kind
    )


@pytest.fixture
def campaign(client: TestClient[Any], acme: TenantSession) -> str:
    return make_campaign(client, acme, timezone="America/New_York")


def test_a_csv_import_stores_good_rows_and_reports_bad_ones(
    client: TestClient[Any], acme: TenantSession, campaign: str
) -> None:
    body = (
        "phone,timezone,name,amount\n"
        f"{phone(1)},Europe/London,Ada,12.50\n"
        "+0123,,Bad,1\n"
        f"{phone(2)},Mars/Base,Bo,2\n"
        f"{phone(3)},,Cy,3\n"
        f"{phone(1)},,Again,4\n"
    )
    response = import_into(client, acme, campaign, body.encode(), CSV)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "rows": 5,
        "inserted": 2,
        "rejected": 3,
        "errors": [
            {
                "row": 2,
                "field": "phone",
                "reason": "'+0123' is not an E.164 number like +14155550123",
            },
            {"row": 3, "field": "timezone", "reason": "unknown time zone 'Mars/Base'"},
            {"row": 5, "field": "phone", "reason": "the campaign already has this number"},
        ],
        "errors_truncated": False,
        "complete": True,
    }
    page = client.get(f"/v1/campaigns/{campaign}/contacts", headers=acme.headers).json()
    stored = sorted(page["items"], key=lambda c: c["phone"])
    assert [(c["phone"], c["timezone"], c["variables"]) for c in stored] == [
        (phone(1), "Europe/London", {"name": "Ada", "amount": "12.50"}),
        (phone(3), None, {"name": "Cy", "amount": "3"}),
    ]
    assert all(c["state"] == "ready" and c["attempts"] == 0 for c in stored)
    assert page["next_after"] is None


def test_json_and_json_lines_imports(
    client: TestClient[Any], acme: TenantSession, campaign: str
) -> None:
    rows = [
        {"phone": phone(1), "variables": {"name": "Ada", "due": 12.5}},
        {"phone": phone(2), "timezone": "Asia/Tokyo"},
        {"phone": 14155550103},
        {"phone": phone(4), "variables": {"tags": ["a"]}},
        {"phone": phone(5), "colour": "red"},
        {"timezone": "UTC"},
    ]
    response = import_into(client, acme, campaign, json.dumps(rows).encode(), JSON)
    assert response.status_code == 200
    result = response.json()
    assert (result["rows"], result["inserted"], result["rejected"]) == (6, 2, 4)
    assert [(e["row"], e["field"]) for e in result["errors"]] == [
        (3, "phone"),
        (4, "variables.tags"),
        (5, "colour"),
        (6, "phone"),
    ]
    lines = "\n".join(json.dumps({"phone": phone(n)}) for n in (2, 6, 7)).encode()
    again = import_into(client, acme, campaign, lines, NDJSON).json()
    assert (again["inserted"], again["errors"]) == (
        2,
        [{"row": 1, "field": "phone", "reason": "the campaign already has this number"}],
    )
    counts = client.get(f"/v1/campaigns/{campaign}/contacts/counts", headers=acme.headers).json()
    assert counts["total"] == 4
    assert counts["states"]["ready"] == 4


def test_a_body_that_cannot_be_read_on_is_a_400_with_what_was_stored(
    client: TestClient[Any], acme: TenantSession, campaign: str
) -> None:
    body = json.dumps([{"phone": phone(1)}, {"phone": phone(2)}])[:-1] + ', {"phone": '
    response = import_into(client, acme, campaign, body.encode(), JSON)
    assert_error(response, 400, "body", "bad_request")
    result = response.json()
    assert (result["rows"], result["inserted"], result["complete"]) == (2, 2, False)
    assert result["errors"] == [
        {"row": 3, "field": "body", "reason": "row 3 is not JSON: Expecting value"}
    ]
    # Sending the fixed body again stores the rest and reports the first rows as duplicates.
    fixed = json.dumps([{"phone": phone(n)} for n in (1, 2, 3)]).encode()
    again = import_into(client, acme, campaign, fixed, JSON).json()
    assert (again["inserted"], again["rejected"], again["complete"]) == (1, 2, True)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"name\nAda\n", "the CSV header has no `phone` column"),
        (b"", "the CSV body is empty: it needs a header with a `phone` column"),
        (b"phone\n\xff\n", "the body is not UTF-8 text (invalid start byte)"),
    ],
)
def test_an_unreadable_csv_stores_nothing(
    client: TestClient[Any], acme: TenantSession, campaign: str, body: bytes, reason: str
) -> None:
    response = import_into(client, acme, campaign, body, CSV)
    assert_error(response, 400, "body")
    assert response.json()["errors"][-1]["reason"] == reason
    assert response.json()["inserted"] == 0


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "text/csv; charset=latin-1", ""]
)
def test_an_unsupported_body_is_415(
    client: TestClient[Any], acme: TenantSession, campaign: str, content_type: str
) -> None:
    response = import_into(client, acme, campaign, b"phone\n", {"content-type": content_type})
    assert_error(response, 415, None, "unsupported_media_type")


def test_the_report_lists_the_first_errors_and_counts_the_rest(
    client: TestClient[Any], acme: TenantSession, campaign: str
) -> None:
    bad = MAX_REPORTED_ERRORS + 5
    body = "phone\n" + "nope\n" * bad + f"{phone(1)}\n"
    result = import_into(client, acme, campaign, body.encode(), CSV).json()
    assert (result["rows"], result["inserted"], result["rejected"]) == (bad + 1, 1, bad)
    assert len(result["errors"]) == MAX_REPORTED_ERRORS
    assert result["errors_truncated"] is True


class CountingImport:
    """A `ContactImport` that keeps nothing: it counts, and remembers the largest batch."""

    def __init__(self) -> None:
        self.rows = 0
        self.largest = 0
        self.batches = 0

    def import_contacts(self, contacts: Sequence[Contact]) -> ImportReport:
        self.rows += len(contacts)
        self.largest = max(self.largest, len(contacts))
        self.batches += 1
        return ImportReport(tuple(c.id for c in contacts), ())


async def test_a_large_import_is_stored_in_batches_while_the_body_streams(
    settings: Settings,
) -> None:
    """100 000 rows reach the store in batches of the configured size, each stored before the
    rest of the body is even produced: the import never holds the body, nor all its rows."""
    counting = CountingImport()
    deps = attrs.evolve(memory_deps(), contact_import=counting)
    batch, part, total = 1000, 5000, 100_000
    app = create_app(attrs.evolve(settings, import_batch_rows=batch), deps)
    with TestClient(app) as client:
        acme = make_tenant(client, "Acme")
        campaign = make_campaign(client, acme)
    stored_when_asked: list[int] = []

    def body() -> Iterator[bytes]:
        yield b"phone,name\n"
        for start in range(0, total, part):
            stored_when_asked.append(counting.rows)
            yield "".join(f"{phone(n)},n{n}\n" for n in range(start, start + part)).encode()

    status, result = await post_streamed(
        app, f"/v1/campaigns/{campaign}/contacts/import", acme.headers | CSV, body()
    )
    assert status == 200, result
    assert (result["rows"], result["inserted"], result["rejected"]) == (total, total, 0)
    assert counting.rows == total
    assert counting.largest == batch
    # When each part was asked for, the rows of all but the last part or two were stored.
    for index, stored in enumerate(stored_when_asked):
        assert stored >= (index - 1) * part - batch


def test_contacts_are_listed_a_page_at_a_time_and_by_state(
    client: TestClient[Any], acme: TenantSession, campaign: str, deps: Any
) -> None:
    body = "phone\n" + "".join(f"{phone(n)}\n" for n in range(5))
    assert import_into(client, acme, campaign, body.encode(), CSV).json()["inserted"] == 5
    path = f"/v1/campaigns/{campaign}/contacts"
    seen: list[str] = []
    after = None
    while True:
        params = {"limit": 2} | ({"after": after} if after else {})
        page = client.get(path, params=params, headers=acme.headers).json()
        seen += [c["id"] for c in page["items"]]
        after = page["next_after"]
        if after is None:
            break
    assert len(seen) == 5
    assert seen == sorted(seen)
    ready = client.get(path, params={"state": "ready"}, headers=acme.headers).json()
    assert len(ready["items"]) == 5
    done = client.get(path, params={"state": "done"}, headers=acme.headers).json()
    assert done == {"items": [], "next_after": None}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"state": "sleeping"}, "state"),
    ],
)
def test_bad_listing_parameters_are_400_naming_them(
    client: TestClient[Any], acme: TenantSession, campaign: str, params: dict[str, Any], field: str
) -> None:
    response = client.get(f"/v1/campaigns/{campaign}/contacts", params=params, headers=acme.headers)
    assert_error(response, 400, field, "bad_request")


def test_counts_name_every_state(
    client: TestClient[Any], acme: TenantSession, campaign: str
) -> None:
    path = f"/v1/campaigns/{campaign}/contacts/counts"
    empty = client.get(path, headers=acme.headers).json()
    assert empty["total"] == 0
    assert set(empty["states"]) == {
        "ready",
        "leased",
        "dialing",
        "answered",
        "attached",
        "done",
        "exhausted",
        "dnc",
    }
    import_into(client, acme, campaign, f"phone\n{phone(1)}\n{phone(2)}\n".encode(), CSV)
    counts = client.get(path, headers=acme.headers).json()
    assert counts["total"] == 2
    assert counts["states"]["ready"] == 2
