"""Inbound numbers, one document each; a unique index on the number keeps one owner per number."""

from __future__ import annotations

from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from voxcore_adapters.mongo.documents import Document, from_document, to_document
from voxcore_adapters.mongo.schema import INBOUND_NUMBERS, collection
from voxcore_domain.inbound import InboundNumber


class MongoInboundNumbers:
    """The `InboundNumbers` port over the `inbound_numbers` collection."""

    def __init__(self, db: Database[Document]) -> None:
        self._entries = collection(db, INBOUND_NUMBERS)

    def add(self, entry: InboundNumber) -> bool:
        try:
            self._entries.insert_one({"_id": entry.id, **to_document(entry)})
        except DuplicateKeyError:
            return False
        return True

    def replace(self, entry: InboundNumber) -> bool:
        # The number in the filter: an entry's number never changes under it.
        found = self._entries.replace_one(
            {"_id": entry.id, "number": entry.number}, to_document(entry)
        )
        return found.matched_count == 1

    def get(self, entry_id: str) -> InboundNumber | None:
        document = self._entries.find_one({"_id": entry_id})
        return None if document is None else from_document(document, InboundNumber)

    def by_number(self, number: str) -> InboundNumber | None:
        document = self._entries.find_one({"number": number})
        return None if document is None else from_document(document, InboundNumber)

    def of_tenant(self, tenant_id: str) -> list[InboundNumber]:
        found = self._entries.find({"tenant_id": tenant_id}).sort("_id", ASCENDING)
        return [from_document(document, InboundNumber) for document in found]

    def delete(self, entry_id: str) -> bool:
        return self._entries.delete_one({"_id": entry_id}).deleted_count == 1
