"""The `ContactDirectory` contract, for the fake and the MongoDB adapter."""

from __future__ import annotations

import random
from typing import Any

import attrs
import pytest
from pymongo.database import Database

from voxcore_adapters.fakes import InMemoryContactImport, InMemoryContactLeases
from voxcore_adapters.fakes.contact_directory import InMemoryContactDirectory
from voxcore_adapters.mongo import MongoContactImport
from voxcore_adapters.mongo.contact_directory import MongoContactDirectory
from voxcore_adapters.mongo.documents import Document
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import Contact, ContactState, utc
from voxcore_domain.ports import MAX_PAGE, ContactDirectory, ContactImport

pytestmark = pytest.mark.integration

DUE = utc(2024, 6, 5, 12)


def contact(number: int, campaign_id: str = "c1", **changes: Any) -> Contact:
    base = Contact(f"k{number:02d}", campaign_id, "t1", f"+1415555{number:04d}", DUE)
    return attrs.evolve(base, **changes)


@pytest.fixture
def stores(db_if_mongo: Database[Document] | None) -> tuple[ContactImport, ContactDirectory]:
    if db_if_mongo is None:
        leases = InMemoryContactLeases(rng=random.Random(1))
        return InMemoryContactImport(leases), InMemoryContactDirectory(leases)
    directory = MongoContactDirectory(db_if_mongo)
    directory.ensure_indexes()
    return MongoContactImport(db_if_mongo), directory


CONTACTS = [
    contact(3),
    contact(1, state=ContactState.DONE),
    contact(2),
    contact(5, state=ContactState.DNC),
    contact(4),
    contact(6, campaign_id="c2"),
]


def test_pages_walk_a_campaign_in_id_order(
    stores: tuple[ContactImport, ContactDirectory],
) -> None:
    importer, directory = stores
    importer.import_contacts(CONTACTS)
    first = directory.page("c1", limit=2)
    assert [c.id for c in first] == ["k01", "k02"]
    assert first[0] == contact(1, state=ContactState.DONE)
    second = directory.page("c1", after=first[-1].id, limit=2)
    assert [c.id for c in second] == ["k03", "k04"]
    assert [c.id for c in directory.page("c1", after="k04", limit=2)] == ["k05"]
    assert directory.page("c1", after="k05") == []
    assert directory.page("nope") == []


def test_a_page_can_hold_one_state(stores: tuple[ContactImport, ContactDirectory]) -> None:
    importer, directory = stores
    importer.import_contacts(CONTACTS)
    ready = directory.page("c1", state=ContactState.READY)
    assert [c.id for c in ready] == ["k02", "k03", "k04"]
    assert [c.id for c in directory.page("c1", state=ContactState.READY, after="k02")] == [
        "k03",
        "k04",
    ]
    assert directory.page("c1", state=ContactState.LEASED) == []


def test_counts_name_every_state(stores: tuple[ContactImport, ContactDirectory]) -> None:
    importer, directory = stores
    assert directory.state_counts("c1") == dict.fromkeys(ContactState, 0)
    importer.import_contacts(CONTACTS)
    expected = dict.fromkeys(ContactState, 0) | {
        ContactState.READY: 3,
        ContactState.DONE: 1,
        ContactState.DNC: 1,
    }
    assert directory.state_counts("c1") == expected


@pytest.mark.parametrize("limit", [0, -1, MAX_PAGE + 1, True])
def test_a_page_size_out_of_range_is_refused(
    stores: tuple[ContactImport, ContactDirectory], limit: int
) -> None:
    _, directory = stores
    with pytest.raises(ValidationError) as refused:
        directory.page("c1", limit=limit)
    assert refused.value.field == "limit"
