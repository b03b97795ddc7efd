"""The `ContactImport` contract, for the fake and the MongoDB adapter."""

from __future__ import annotations

import random
from typing import Any

import attrs
import pytest
from pymongo.database import Database

from tests.integration.mongo.support import LeaseStore
from voxcore_adapters.fakes import InMemoryContactImport, InMemoryContactLeases
from voxcore_adapters.mongo import MongoContactImport, MongoContactLeases
from voxcore_adapters.mongo.documents import Document
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import Contact, utc
from voxcore_domain.ports import ContactImport, DuplicateRow, ImportReport

pytestmark = pytest.mark.integration

DUE = utc(2024, 6, 5, 12)


def contact(number: int, **changes: Any) -> Contact:
    base = Contact(f"k{number}", "c1", "t1", f"+1415555{number:04d}", DUE, "America/Chicago")
    return attrs.evolve(base, **changes)


@pytest.fixture
def stores(db_if_mongo: Database[Document] | None) -> tuple[ContactImport, LeaseStore]:
    if db_if_mongo is None:
        leases = InMemoryContactLeases(rng=random.Random(1))
        return InMemoryContactImport(leases), leases
    return MongoContactImport(db_if_mongo), MongoContactLeases(db_if_mongo)


def test_new_contacts_are_stored_as_given(stores: tuple[ContactImport, LeaseStore]) -> None:
    importer, leases = stores
    rows = [contact(2, variables={"name": "Ada", "due": "12.50"}), contact(1)]
    assert importer.import_contacts(rows) == ImportReport(("k2", "k1"), ())
    assert leases.contacts() == [contact(1), rows[0]]
    assert importer.import_contacts([]) == ImportReport((), ())


def test_duplicates_are_reported_per_row_and_the_rest_stored(
    stores: tuple[ContactImport, LeaseStore],
) -> None:
    importer, leases = stores
    importer.import_contacts([contact(1), contact(2)])
    rows = [
        contact(3),
        contact(1, phone="+14155559999"),  # an id that exists
        contact(4, phone=contact(2).phone),  # a number the campaign has
        contact(5, phone=contact(2).phone, campaign_id="c2"),  # another campaign may have it
        contact(6),
        contact(7, phone=contact(6).phone),  # a number an earlier row of this import has
        contact(2),  # both: the id is reported
    ]
    report = importer.import_contacts(rows)
    assert report == ImportReport(
        inserted=("k3", "k5", "k6"),
        duplicates=(
            DuplicateRow(1, "k1", "+14155559999", "id"),
            DuplicateRow(2, "k4", contact(2).phone, "phone"),
            DuplicateRow(5, "k7", contact(6).phone, "phone"),
            DuplicateRow(6, "k2", contact(2).phone, "id"),
        ),
    )
    assert [c.id for c in leases.contacts()] == ["k1", "k2", "k3", "k5", "k6"]
    assert leases.get("k1") == contact(1)


def test_a_row_that_is_not_a_contact_is_refused(stores: tuple[ContactImport, LeaseStore]) -> None:
    importer, leases = stores
    with pytest.raises(ValidationError) as raised:
        importer.import_contacts([contact(1), {"id": "k2"}])  # type: ignore[list-item]
    assert raised.value.field == "contacts"
    assert leases.contacts() == []


def test_a_row_is_judged_against_the_rows_before_it(
    stores: tuple[ContactImport, LeaseStore],
) -> None:
    importer, _ = stores
    importer.import_contacts([contact(1)])
    rows = [contact(9, phone=contact(1).phone), contact(9, phone="+14155550099")]
    assert importer.import_contacts(rows) == ImportReport(
        ("k9",), (DuplicateRow(0, "k9", contact(1).phone, "phone"),)
    )
