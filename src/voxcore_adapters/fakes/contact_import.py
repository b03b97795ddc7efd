"""Contact import into the in-memory contact store."""

from __future__ import annotations

from collections.abc import Sequence

from voxcore_domain.errors import ValidationError
from voxcore_domain.lease import InMemoryContactLeases
from voxcore_domain.model import Contact
from voxcore_domain.ports import DuplicateRow, ImportReport


class InMemoryContactImport:
    """The `ContactImport` port, storing into an `InMemoryContactLeases`. A row repeating a
    stored id is a duplicate by `id` (checked first, as MongoDB's `_id` index is), else one
    repeating its campaign's number is a duplicate by `phone`."""

    def __init__(self, leases: InMemoryContactLeases) -> None:
        self._leases = leases

    def import_contacts(self, contacts: Sequence[Contact]) -> ImportReport:
        rows = list(contacts)
        for row, contact in enumerate(rows):
            if not isinstance(contact, Contact):
                raise ValidationError("contacts", f"row {row} is not a Contact")
        stored = self._leases.contacts()
        ids = {contact.id for contact in stored}
        numbers = {(contact.campaign_id, contact.phone) for contact in stored}
        inserted: list[str] = []
        duplicates: list[DuplicateRow] = []
        for row, contact in enumerate(rows):
            if contact.id in ids:
                duplicates.append(DuplicateRow(row, contact.id, contact.phone, "id"))
            elif (contact.campaign_id, contact.phone) in numbers:
                duplicates.append(DuplicateRow(row, contact.id, contact.phone, "phone"))
            else:
                self._leases.add(contact)
                ids.add(contact.id)
                numbers.add((contact.campaign_id, contact.phone))
                inserted.append(contact.id)
        return ImportReport(tuple(inserted), tuple(duplicates))
