"""Contact listings and state counts over the `contacts` collection."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.database import Database

from voxcore_adapters.fakes.contact_directory import checked_limit
from voxcore_adapters.mongo.documents import Document, from_document
from voxcore_adapters.mongo.schema import CONTACTS, collection
from voxcore_domain.model import Contact, ContactState

INDEXES = [
    # Pages in id order, of a whole campaign or of one state of it.
    IndexModel([("campaign_id", ASCENDING), ("_id", ASCENDING)], name="campaign_page"),
    IndexModel(
        [("campaign_id", ASCENDING), ("state", ASCENDING), ("_id", ASCENDING)],
        name="campaign_state_page",
    ),
]


class MongoContactDirectory:
    """The `ContactDirectory` port over the `contacts` collection."""

    def __init__(self, db: Database[Document]) -> None:
        self._contacts = collection(db, CONTACTS)

    def ensure_indexes(self) -> None:
        self._contacts.create_indexes(INDEXES)

    def page(
        self,
        campaign_id: str,
        *,
        state: ContactState | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[Contact]:
        checked_limit(limit)
        query: dict[str, Any] = {"campaign_id": campaign_id}
        if state is not None:
            query["state"] = ContactState(state).value
        if after is not None:
            query["_id"] = {"$gt": after}
        found = self._contacts.find(query).sort("_id", 1).limit(limit)
        return [from_document(document, Contact) for document in found]

    def state_counts(self, campaign_id: str) -> dict[ContactState, int]:
        counts = dict.fromkeys(ContactState, 0)
        grouped = self._contacts.aggregate(
            [
                {"$match": {"campaign_id": campaign_id}},
                {"$group": {"_id": "$state", "n": {"$sum": 1}}},
            ]
        )
        for group in grouped:
            counts[ContactState(group["_id"])] = int(group["n"])
        return counts
