"""What the stores hold about one campaign, read for the auditor: contacts and call attempts
from MongoDB, the `ended` reports the API stored, the recordings in S3, and the abandon count
of the API's statistics."""

from __future__ import annotations

from collections import Counter

import pymongo
from minio import Minio

from voxcore_adapters.mongo import MongoContactLeases
from voxcore_adapters.mongo.documents import Document, from_document
from voxcore_adapters.mongo.schema import CALL_ATTEMPTS, CALL_REPORTS, CODEC_OPTIONS
from voxcore_adapters.s3 import S3Connection
from voxcore_adapters.s3.layout import split_key
from voxcore_adapters.testing.provisioning import Tenant
from voxcore_domain.model import CallAttempt
from voxcore_drills import campaign as seeding
from voxcore_drills.auditor import Evidence


class Stores:
    """Read access to the platform's MongoDB and S3."""

    def __init__(self, mongo_url: str, s3: S3Connection, bucket: str) -> None:
        self._client: pymongo.MongoClient[Document] = pymongo.MongoClient(
            mongo_url, tz_aware=True, serverSelectionTimeoutMS=5000
        )
        self.db = self._client.get_default_database("voxbridge").with_options(
            codec_options=CODEC_OPTIONS
        )
        self._s3: Minio = s3.client()
        self._bucket = bucket

    def close(self) -> None:
        self._client.close()

    def attempts(self, campaign_id: str) -> list[CallAttempt]:
        found = self.db[CALL_ATTEMPTS].find({"campaign_id": campaign_id})
        return [from_document(document, CallAttempt) for document in found]

    def ended_reports(self, call_ids: list[str]) -> dict[str, int]:
        found = self.db[CALL_REPORTS].find(
            {"call_id": {"$in": call_ids}, "kind": "ended"}, {"call_id": 1, "sequence": 1}
        )
        return dict(Counter(str(document["call_id"]) for document in found))

    def recordings(self, tenant_id: str) -> dict[str, int]:
        """Call id → size of its recording, for the tenant's recordings in S3."""
        if not self._s3.bucket_exists(self._bucket):
            return {}
        sizes: dict[str, int] = {}
        for item in self._s3.list_objects(self._bucket, prefix=f"{tenant_id}/", recursive=True):
            parts = split_key(item.object_name or "")
            if parts is not None:
                sizes[parts[1]] = int(item.size or 0)
        return sizes

    def recording(self, tenant_id: str, call_id: str) -> bytes:
        response = self._s3.get_object(self._bucket, f"{tenant_id}/{call_id}/call.wav")
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def evidence(self, api_url: str, owner: Tenant, campaign_id: str) -> Evidence:
        contacts = MongoContactLeases(self.db).contacts(campaign_id)
        attempts = self.attempts(campaign_id)
        return Evidence(
            contacts=tuple(contacts),
            attempts=tuple(attempts),
            ended_reports=self.ended_reports([a.id for a in attempts]),
            recordings=frozenset(self.recordings(owner.id)),
            abandoned_in_stats=seeding.abandoned_in_stats(api_url, owner, campaign_id),
        )
