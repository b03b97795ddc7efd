"""MongoDB adapters for the domain's store ports (pymongo, synchronous).

Call `ensure_indexes(db)` (or `connect`, which does) once at start; every store then takes the
same `Database`.
"""

from voxcore_adapters.mongo.agents import MongoAgents
from voxcore_adapters.mongo.call_log import MongoCallLog
from voxcore_adapters.mongo.campaigns import MongoCampaigns
from voxcore_adapters.mongo.contact_import import MongoContactImport
from voxcore_adapters.mongo.dnc import MongoDncList
from voxcore_adapters.mongo.documents import converter, from_document, to_document, to_millis
from voxcore_adapters.mongo.leases import MongoContactLeases
from voxcore_adapters.mongo.schema import connect, ensure_indexes
from voxcore_adapters.mongo.tenants import MongoTenants
from voxcore_adapters.mongo.trunks import MongoFleetHosts, MongoTrunks

__all__ = [
    "MongoAgents",
    "MongoCallLog",
    "MongoCampaigns",
    "MongoContactImport",
    "MongoContactLeases",
    "MongoDncList",
    "MongoFleetHosts",
    "MongoTenants",
    "MongoTrunks",
    "connect",
    "converter",
    "ensure_indexes",
    "from_document",
    "to_document",
    "to_millis",
]
