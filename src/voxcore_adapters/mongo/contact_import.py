"""Bulk contact import: one unordered insert, duplicates reported per row."""

from __future__ import annotations

from collections.abc import Sequence

from pymongo.database import Database
from pymongo.errors import BulkWriteError

from voxcore_adapters.mongo.dnc import only_duplicates
from voxcore_adapters.mongo.documents import Document, to_document
from voxcore_adapters.mongo.schema import CONTACTS, collection
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import Contact
from voxcore_domain.ports import DuplicateRow, ImportReport


class MongoContactImport:
    """The `ContactImport` port over the `contacts` collection: the unique indexes on `_id` and
    on (campaign, phone) decide what is a duplicate, so concurrent imports agree too."""

    def __init__(self, db: Database[Document]) -> None:
        self._contacts = collection(db, CONTACTS)

    def import_contacts(self, contacts: Sequence[Contact]) -> ImportReport:
        rows = list(contacts)
        for row, contact in enumerate(rows):
            if not isinstance(contact, Contact):
                raise ValidationError("contacts", f"row {row} is not a Contact")
        if not rows:
            return ImportReport((), ())
        refused: dict[int, str] = {}
        try:
            # Unordered: the server goes on past a refused row, and pymongo splits a large import
            # into as few messages as the server's limits allow.
            self._contacts.insert_many([to_document(contact) for contact in rows], ordered=False)
        except BulkWriteError as error:
            if not only_duplicates(error):
                raise
            for failed in error.details["writeErrors"]:
                key = failed.get("keyPattern") or failed.get("keyValue") or {}
                refused[int(failed["index"])] = "id" if "_id" in key else "phone"
        self._prefer_id(rows, refused)
        return ImportReport(
            inserted=tuple(c.id for row, c in enumerate(rows) if row not in refused),
            duplicates=tuple(
                DuplicateRow(row, rows[row].id, rows[row].phone, field)
                for row, field in sorted(refused.items())
            ),
        )

    def _prefer_id(self, rows: list[Contact], refused: dict[int, str]) -> None:
        """Report a row that repeats both a stored id and a stored number by its id, as the port
        says, whichever unique index the server happened to check first (servers differ)."""
        by_phone = [row for row, field in refused.items() if field == "phone"]
        if not by_phone:
            return
        inserted = {c.id: row for row, c in enumerate(rows) if row not in refused}
        found = self._contacts.find(
            {"_id": {"$in": [rows[row].id for row in by_phone]}}, {"_id": 1}
        )
        stored_before = {document["_id"] for document in found} - inserted.keys()
        for row in by_phone:
            contact_id = rows[row].id
            if contact_id in stored_before or inserted.get(contact_id, row) < row:
                refused[row] = "id"
