"""SIP trunks and fleet hosts, one document each."""

from __future__ import annotations

from pymongo import ASCENDING
from pymongo.database import Database

from voxcore_adapters.mongo.documents import Document, from_document, to_document
from voxcore_adapters.mongo.schema import FLEET_HOSTS, TRUNKS, collection
from voxcore_domain.trunks import FleetHost, Trunk


class MongoTrunks:
    """The `Trunks` port over the `trunks` collection."""

    def __init__(self, db: Database[Document]) -> None:
        self._trunks = collection(db, TRUNKS)

    def put(self, trunk: Trunk) -> None:
        self._trunks.replace_one({"_id": trunk.id}, to_document(trunk), upsert=True)

    def get(self, trunk_id: str) -> Trunk | None:
        document = self._trunks.find_one({"_id": trunk_id})
        return None if document is None else from_document(document, Trunk)

    def of_tenant(self, tenant_id: str) -> list[Trunk]:
        found = self._trunks.find({"tenant_id": tenant_id}).sort("_id", ASCENDING)
        return [from_document(document, Trunk) for document in found]

    def all(self) -> list[Trunk]:
        return [from_document(d, Trunk) for d in self._trunks.find().sort("_id", ASCENDING)]

    def delete(self, trunk_id: str) -> bool:
        return self._trunks.delete_one({"_id": trunk_id}).deleted_count == 1


class MongoFleetHosts:
    """The `FleetHosts` port over the `fleet_hosts` collection."""

    def __init__(self, db: Database[Document]) -> None:
        self._hosts = collection(db, FLEET_HOSTS)

    def put(self, host: FleetHost) -> None:
        self._hosts.replace_one({"_id": host.id}, to_document(host), upsert=True)

    def get(self, host_id: str) -> FleetHost | None:
        document = self._hosts.find_one({"_id": host_id})
        return None if document is None else from_document(document, FleetHost)

    def all(self) -> list[FleetHost]:
        return [from_document(d, FleetHost) for d in self._hosts.find().sort("_id", ASCENDING)]

    def delete(self, host_id: str) -> bool:
        return self._hosts.delete_one({"_id": host_id}).deleted_count == 1
