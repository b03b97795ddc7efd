"""Tenants' API keys, one document each, keyed by the key id."""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING, IndexModel
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from voxcore_adapters.mongo.documents import Document, to_millis
from voxcore_adapters.mongo.schema import collection
from voxcore_domain.apikeys import ApiKey
from voxcore_domain.errors import ValidationError

API_KEYS = "api_keys"

INDEXES = [
    IndexModel([("tenant_id", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)]),
]


def _document(key: ApiKey) -> Document:
    return {
        "_id": key.id,
        "tenant_id": key.tenant_id,
        "name": key.name,
        "secret_sha256": key.secret_sha256,
        "created_at": to_millis(key.created_at),
        "revoked_at": None if key.revoked_at is None else to_millis(key.revoked_at),
    }


def _key(document: Document) -> ApiKey:
    return ApiKey(
        id=document["_id"],
        tenant_id=document["tenant_id"],
        name=document["name"],
        secret_sha256=document["secret_sha256"],
        created_at=document["created_at"],
        revoked_at=document["revoked_at"],
    )


class MongoApiKeys:
    """The `ApiKeys` port over the `api_keys` collection. Times are kept to the millisecond,
    as BSON stores them."""

    def __init__(self, db: Database[Document]) -> None:
        self._keys = collection(db, API_KEYS)

    def ensure_indexes(self) -> None:
        self._keys.create_indexes(INDEXES)

    def add(self, key: ApiKey) -> None:
        try:
            self._keys.insert_one(_document(key))
        except DuplicateKeyError:
            raise ValidationError("id", f"an API key {key.id!r} exists") from None

    def get(self, key_id: str) -> ApiKey | None:
        document = self._keys.find_one({"_id": key_id})
        return None if document is None else _key(document)

    def of_tenant(self, tenant_id: str) -> list[ApiKey]:
        found = self._keys.find({"tenant_id": tenant_id}).sort([("created_at", 1), ("_id", 1)])
        return [_key(document) for document in found]

    def revoke(self, key_id: str, at: datetime) -> ApiKey | None:
        # Only a key not revoked yet gets the time, so concurrent revocations keep the first.
        self._keys.update_one(
            {"_id": key_id, "revoked_at": None}, {"$set": {"revoked_at": to_millis(at)}}
        )
        return self.get(key_id)
