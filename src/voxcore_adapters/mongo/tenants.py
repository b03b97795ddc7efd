"""Tenants, one document each."""

from __future__ import annotations

from pymongo.database import Database

from voxcore_adapters.mongo.documents import Document, from_document, to_document
from voxcore_adapters.mongo.schema import TENANTS, collection
from voxcore_domain.model import Tenant


class MongoTenants:
    """The `Tenants` port over the `tenants` collection."""

    def __init__(self, db: Database[Document]) -> None:
        self._tenants = collection(db, TENANTS)

    def put(self, tenant: Tenant) -> None:
        self._tenants.replace_one({"_id": tenant.id}, to_document(tenant), upsert=True)

    def get(self, tenant_id: str) -> Tenant | None:
        document = self._tenants.find_one({"_id": tenant_id})
        return None if document is None else from_document(document, Tenant)

    def all(self) -> list[Tenant]:
        return [from_document(document, Tenant) for document in self._tenants.find().sort("_id", 1)]
