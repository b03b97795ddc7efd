"""Call attempts, one document per dial."""

from __future__ import annotations

from datetime import datetime

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from voxcore_adapters.mongo.documents import Document, from_document, to_document
from voxcore_adapters.mongo.schema import CALL_ATTEMPTS, collection
from voxcore_domain.callstats import CallTally
from voxcore_domain.model import CallAttempt, Disposition
from voxcore_domain.ports import CallQuery


class MongoCallLog:
    """The `CallLog` and `CallHistory` ports over the `call_attempts` collection."""

    def __init__(self, db: Database[Document]) -> None:
        self._attempts = collection(db, CALL_ATTEMPTS)

    def record(self, attempt: CallAttempt) -> None:
        self._attempts.replace_one({"_id": attempt.id}, to_document(attempt), upsert=True)

    def record_first(self, attempt: CallAttempt) -> CallAttempt:
        """An insert, which the `_id` makes atomic: a second one finds the first stored."""
        try:
            self._attempts.insert_one(to_document(attempt))
        except DuplicateKeyError as taken:
            stored = self.get(attempt.id)
            if stored is None:
                raise RuntimeError(
                    f"call {attempt.id} was refused as a repeat, yet is gone"
                ) from taken
            return stored
        return attempt

    def for_contact(self, contact_id: str) -> list[CallAttempt]:
        """The contact's attempts, first one first."""
        found = self._attempts.find({"contact_id": contact_id}).sort([("number", 1), ("_id", 1)])
        return [from_document(document, CallAttempt) for document in found]

    def get(self, call_id: str) -> CallAttempt | None:
        document = self._attempts.find_one({"_id": call_id})
        return None if document is None else from_document(document, CallAttempt)

    def swap(self, expected: CallAttempt, new: CallAttempt) -> bool:
        """A compare-and-set on the fields an attempt grows by."""
        if expected.id != new.id:
            return False
        stored = to_document(expected)
        guard = {"_id": expected.id} | {field: stored[field] for field in _GROWING}
        return bool(self._attempts.replace_one(guard, to_document(new)).matched_count)

    def tally(self, campaign_id: str, since: datetime, until: datetime) -> CallTally:
        """One aggregation over the `campaign` index: dials grouped by disposition, with those
        attached and not ended counted apart."""
        grouped = self._attempts.aggregate(
            [
                {
                    "$match": {
                        "campaign_id": campaign_id,
                        "dialed_at": {"$gte": since, "$lt": until},
                        # A dial the provider turned down before it reached anyone is no dial.
                        "not_placed": None,
                    }
                },
                {
                    "$group": {
                        "_id": {
                            "disposition": "$disposition",
                            "in_call": {
                                "$and": [
                                    {"$gt": ["$attached_at", None]},
                                    {"$lte": ["$ended_at", None]},
                                ]
                            },
                        },
                        "n": {"$sum": 1},
                    }
                },
            ]
        )
        dials = in_call = 0
        outcomes: dict[Disposition, int] = {}
        for group in grouped:
            n = int(group["n"])
            dials += n
            disposition = group["_id"].get("disposition")
            if disposition is not None:
                outcomes[Disposition(disposition)] = outcomes.get(Disposition(disposition), 0) + n
            elif group["_id"].get("in_call"):
                in_call += n
        return CallTally(dials, in_call, outcomes)

    def search(self, query: CallQuery) -> list[CallAttempt]:
        """Newest dial first, over the `tenant_dialed` or `campaign_dialed` index walked
        backwards."""
        match: Document = {"tenant_id": query.tenant_id}
        if query.campaign_id is not None:
            match["campaign_id"] = query.campaign_id
        if query.disposition is not None:
            match["disposition"] = query.disposition.value
        dialed: Document = {}
        if query.since is not None:
            dialed["$gte"] = query.since
        if query.until is not None:
            dialed["$lt"] = query.until
        if dialed:
            match["dialed_at"] = dialed
        if query.before is not None:
            at, call_id = query.before
            match["$or"] = [
                {"dialed_at": {"$lt": at}},
                {"dialed_at": at, "_id": {"$lt": call_id}},
            ]
        found = self._attempts.find(match).sort([("dialed_at", -1), ("_id", -1)]).limit(query.limit)
        return [from_document(document, CallAttempt) for document in found]


_GROWING = ("answered_at", "attached_at", "ended_at", "disposition", "worker", "dialed_at")
"""The fields `callreports.merge` may set."""
