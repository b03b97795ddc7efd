"""Helpers the MongoDB integration tests share (fixtures live in conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping
from typing import Protocol

import pymongo
from pymongo.database import Database

from voxcore_adapters.mongo import MongoContactImport, MongoDncList, ensure_indexes
from voxcore_adapters.mongo.documents import Document
from voxcore_domain.model import Contact
from voxcore_domain.ports import FencedContactLeases


class LeaseStore(FencedContactLeases, Protocol):
    """`FencedContactLeases` with the set-up and inspection both implementations offer."""

    def add(self, contact: Contact) -> None: ...

    def get(self, contact_id: str) -> Contact | None: ...

    def contacts(self) -> list[Contact]: ...


MakeLeases = Callable[..., LeaseStore]


def fresh_database(client: pymongo.MongoClient[Document]) -> Database[Document]:
    """A database no other test uses, its indexes ensured."""
    db = client.get_database(f"vox_test_{uuid.uuid4().hex[:16]}")
    ensure_indexes(db)
    return db


def seed_mongo(
    db: Database[Document], contacts: Collection[Contact], dnc: Mapping[str, Collection[str]]
) -> None:
    """Import `contacts` and put `dnc`'s numbers on each tenant's list."""
    report = MongoContactImport(db).import_contacts(list(contacts))
    assert report.duplicates == ()
    dnc_list = MongoDncList(db)
    for tenant, phones in dnc.items():
        dnc_list.add(tenant, sorted(phones))
