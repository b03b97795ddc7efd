"""Each tenant's do-not-call list: one document per (tenant, number), unique."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pymongo.database import Database
from pymongo.errors import BulkWriteError

# The fake is the reference for what the port accepts, as the domain's is for leases.
from voxcore_adapters.fakes.dnc import checked_numbers
from voxcore_adapters.mongo.documents import Document
from voxcore_adapters.mongo.schema import DNC, collection

DUPLICATE_KEY = 11000
"""MongoDB's error code for a write that a unique index refused."""


def only_duplicates(error: BulkWriteError) -> bool:
    """Whether every write an unordered bulk write refused was refused as a duplicate key."""
    return all(failed["code"] == DUPLICATE_KEY for failed in error.details["writeErrors"]) and (
        not error.details.get("writeConcernErrors")
    )


class MongoDncList:
    """The `DncList` port over the `dnc` collection."""

    def __init__(self, db: Database[Document]) -> None:
        self._dnc = collection(db, DNC)

    def add(self, tenant_id: str, phones: Sequence[str]) -> int:
        """Add the numbers; how many were not on the list yet. The unique index decides, so
        concurrent adds of one number count it once."""
        numbers = checked_numbers(tenant_id, phones)
        if not numbers:
            return 0
        documents = [{"tenant_id": tenant_id, "phone": phone} for phone in numbers]
        try:
            return len(self._dnc.insert_many(documents, ordered=False).inserted_ids)
        except BulkWriteError as error:
            if not only_duplicates(error):
                raise
            return int(error.details["nInserted"])

    def remove(self, tenant_id: str, phone: str) -> bool:
        [number] = checked_numbers(tenant_id, [phone])
        return self._dnc.delete_one({"tenant_id": tenant_id, "phone": number}).deleted_count == 1

    def blocked(self, tenant_id: str, phones: Sequence[str]) -> frozenset[str]:
        numbers = checked_numbers(tenant_id, phones)
        if not numbers:
            return frozenset()
        found = self._dnc.find(
            {"tenant_id": tenant_id, "phone": {"$in": numbers}}, {"_id": 0, "phone": 1}
        )
        return frozenset(document["phone"] for document in found)

    def blocked_many(self, phones: Mapping[str, Sequence[str]]) -> dict[str, frozenset[str]]:
        """`blocked` for several tenants (tenant id → numbers) in one query: both fields `$in`
        the (tenant, phone) index, the pairs nobody asked for dropped here."""
        wanted = {
            tenant: set(checked_numbers(tenant, numbers)) for tenant, numbers in phones.items()
        }
        wanted = {tenant: numbers for tenant, numbers in wanted.items() if numbers}
        if not wanted:
            return {}
        found = self._dnc.find(
            {
                "tenant_id": {"$in": sorted(wanted)},
                "phone": {"$in": sorted(set().union(*wanted.values()))},
            },
            {"_id": 0, "tenant_id": 1, "phone": 1},
        )
        listed: dict[str, set[str]] = {}
        for document in found:
            tenant, phone = document["tenant_id"], document["phone"]
            if phone in wanted.get(tenant, ()):
                listed.setdefault(tenant, set()).add(phone)
        return {tenant: frozenset(numbers) for tenant, numbers in listed.items()}
