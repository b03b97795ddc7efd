"""Where each store keeps its documents, the indexes they need, and how to connect.

Every store reads dates as timezone-aware UTC and writes with majority write concern: on a
replica set a lease or a fenced write that a failover could roll back would let two diallers
hold one contact.
"""

from __future__ import annotations

from datetime import UTC

import pymongo
from bson.codec_options import CodecOptions
from pymongo import ASCENDING, IndexModel, WriteConcern
from pymongo.collection import Collection
from pymongo.database import Database

from voxcore_adapters.mongo.documents import Document

CONTACTS = "contacts"
CAMPAIGNS = "campaigns"
CALL_ATTEMPTS = "call_attempts"
DNC = "dnc"
TENANTS = "tenants"
AGENTS = "agents"
CALL_REPORTS = "call_reports"
TRUNKS = "trunks"
FLEET_HOSTS = "fleet_hosts"
INBOUND_NUMBERS = "inbound_numbers"
LEADER_FENCES = "leader_fences"

CODEC_OPTIONS: CodecOptions[Document] = CodecOptions(tz_aware=True, tzinfo=UTC)
WRITE_CONCERN = WriteConcern("majority")

INDEXES: dict[str, list[IndexModel]] = {
    CONTACTS: [
        # One contact per number and campaign: what a contact import reports duplicates by.
        IndexModel(
            [("campaign_id", ASCENDING), ("phone", ASCENDING)], name="campaign_phone", unique=True
        ),
        # Lease candidates: equality on campaign and state, then the lease order.
        IndexModel(
            [
                ("campaign_id", ASCENDING),
                ("state", ASCENDING),
                ("next_attempt_at", ASCENDING),
                ("_id", ASCENDING),
            ],
            name="lease_order",
        ),
        # Calls whose lease expired, for recover_expired.
        IndexModel(
            [("campaign_id", ASCENDING), ("state", ASCENDING), ("lease.expires_at", ASCENDING)],
            name="lease_expiry",
        ),
        # Reading a batch back by its tokens.
        IndexModel([("lease.token", ASCENDING)], name="lease_token"),
        # A new leader stamping the contacts its shard holds (take_over).
        IndexModel(
            [("lease.shard", ASCENDING), ("lease.leader_token", ASCENDING)], name="lease_leader"
        ),
    ],
    CAMPAIGNS: [
        IndexModel([("state", ASCENDING)], name="state"),
        IndexModel([("tenant_id", ASCENDING), ("_id", ASCENDING)], name="tenant"),
    ],
    CALL_ATTEMPTS: [
        IndexModel([("contact_id", ASCENDING), ("number", ASCENDING)], name="contact"),
        IndexModel([("campaign_id", ASCENDING), ("dialed_at", ASCENDING)], name="campaign"),
    ],
    DNC: [
        IndexModel(
            [("tenant_id", ASCENDING), ("phone", ASCENDING)], name="tenant_phone", unique=True
        )
    ],
    TENANTS: [],
    AGENTS: [IndexModel([("tenant_id", ASCENDING), ("_id", ASCENDING)], name="tenant")],
    LEADER_FENCES: [],
}
INDEXES[TRUNKS] = [IndexModel([("tenant_id", ASCENDING), ("_id", ASCENDING)], name="tenant")]
INDEXES[FLEET_HOSTS] = []
# One owner per called number: what routes an inbound call to one agent.
INDEXES[INBOUND_NUMBERS] = [
    IndexModel([("number", ASCENDING)], name="number", unique=True),
    IndexModel([("tenant_id", ASCENDING), ("_id", ASCENDING)], name="tenant"),
]

# The API's reads of calls: a report is unique per call and sequence; a tenant's calls are
# listed newest first (the indexes walked backwards), by campaign or all of them. Ascending keys:
# SecantusDB, the test server, misreads range bounds on descending index keys.
INDEXES[CALL_REPORTS] = [
    IndexModel([("call_id", ASCENDING), ("sequence", ASCENDING)], name="call_sequence", unique=True)
]
INDEXES[CALL_ATTEMPTS] = [
    *INDEXES[CALL_ATTEMPTS],
    IndexModel(
        [("tenant_id", ASCENDING), ("dialed_at", ASCENDING), ("_id", ASCENDING)],
        name="tenant_dialed",
    ),
    IndexModel(
        [("campaign_id", ASCENDING), ("dialed_at", ASCENDING), ("_id", ASCENDING)],
        name="campaign_dialed",
    ),
]


def collection(db: Database[Document], name: str) -> Collection[Document]:
    """The collection `name` of `db`, with the codec options and write concern every store uses."""
    return db.get_collection(name, codec_options=CODEC_OPTIONS, write_concern=WRITE_CONCERN)


def ensure_indexes(db: Database[Document]) -> None:
    """Create every store's indexes; idempotent, so every process may call it at start. An
    index that exists under the same name with another definition is an error, not skipped."""
    for name, indexes in INDEXES.items():
        if indexes:
            collection(db, name).create_indexes(indexes)


def connect(url: str, database: str | None = None) -> Database[Document]:
    """The database at `url` (`database`, else the URL's, else `voxbridge`), its indexes ensured.
    Close it with `db.client.close()`."""
    client: pymongo.MongoClient[Document] = pymongo.MongoClient(url, tz_aware=True, tzinfo=UTC)
    db = client.get_database(database) if database else client.get_default_database("voxbridge")
    ensure_indexes(db)
    return db
