"""Call attempts, one document per dial."""

from __future__ import annotations

from pymongo.database import Database

from voxcore_adapters.mongo.documents import Document, from_document, to_document
from voxcore_adapters.mongo.schema import CALL_ATTEMPTS, collection
from voxcore_domain.model import CallAttempt


class MongoCallLog:
    """The `CallLog` port over the `call_attempts` collection."""

    def __init__(self, db: Database[Document]) -> None:
        self._attempts = collection(db, CALL_ATTEMPTS)

    def record(self, attempt: CallAttempt) -> None:
        self._attempts.replace_one({"_id": attempt.id}, to_document(attempt), upsert=True)

    def for_contact(self, contact_id: str) -> list[CallAttempt]:
        """The contact's attempts, first one first."""
        found = self._attempts.find({"contact_id": contact_id}).sort([("number", 1), ("_id", 1)])
        return [from_document(document, CallAttempt) for document in found]

    def get(self, call_id: str) -> CallAttempt | None:
        document = self._attempts.find_one({"_id": call_id})
        return None if document is None else from_document(document, CallAttempt)
