"""Call recordings in an S3 bucket (MinIO in production), through the `minio` client.

A recording lives at `<tenant_id>/<call_id>/<name>` with its tenant, campaign and call ids as
`x-amz-meta-*` metadata, so listing a call's recordings is one prefix listing and a file LiveKit
egress writes under the same prefix shows up too.
"""

from __future__ import annotations

import io
import logging
import threading
from datetime import timedelta

from minio import Minio
from minio.datatypes import Object
from minio.error import S3Error
from minio.helpers import DictType

from voxcore_adapters.s3 import layout
from voxcore_adapters.s3.connection import S3Connection
from voxcore_domain.ports import RecordingInfo, RecordingNotFound

log = logging.getLogger(__name__)

_MISSING = frozenset({"NoSuchKey", "NoSuchBucket", "NoSuchObject"})
_ALREADY_THERE = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})


class S3RecordingStore:
    """`CallRecordings` on one bucket, created on first write if it is missing.

    `public_url`, when the browser reaches the server at another address than this process
    does (e.g. `https://media.example.com` versus `http://minio:9000`), is the endpoint that
    presigned URLs are signed for. Thread-safe, as the minio client is.
    """

    def __init__(
        self, connection: S3Connection, bucket: str, *, public_url: str | None = None
    ) -> None:
        self._bucket = layout.check_bucket(bucket)
        self._client = connection.client()
        self._signer: Minio = (
            self._client
            if public_url is None
            # Presigning is computed locally (the region is fixed), so this client never dials.
            else S3Connection(
                public_url, connection.access_key, connection.secret_key, connection.region
            ).client()
        )
        self._bucket_ready = False
        self._lock = threading.Lock()

    @property
    def bucket(self) -> str:
        return self._bucket

    def ensure_bucket(self) -> None:
        """Create the bucket unless it exists; safe when several workers race to do it."""
        with self._lock:
            if self._bucket_ready:
                return
            if not self._client.bucket_exists(self._bucket):
                try:
                    self._client.make_bucket(self._bucket)
                    log.info("created recordings bucket %s", self._bucket)
                except S3Error as exc:
                    # Another worker created it between our check and our request.
                    if exc.code not in _ALREADY_THERE:
                        raise
            self._bucket_ready = True

    def put(self, key: str, data: bytes, content_type: str) -> None:
        layout.check_key(key)
        layout.check_payload(data, content_type)
        self._put(key, bytes(data), content_type, {})

    def put_recording(
        self,
        tenant_id: str,
        campaign_id: str,
        call_id: str,
        name: str,
        data: bytes,
        content_type: str = "audio/wav",
    ) -> RecordingInfo:
        key = layout.recording_key(tenant_id, call_id, name)
        metadata = layout.recording_metadata(tenant_id, campaign_id, call_id)
        layout.check_payload(data, content_type)
        self._put(key, bytes(data), content_type, metadata)
        return RecordingInfo(key, tenant_id, call_id, campaign_id, content_type, len(data))

    def get(self, key: str) -> bytes:
        layout.check_key(key)
        try:
            response = self._client.get_object(self._bucket, key)
        except S3Error as exc:
            if exc.code in _MISSING:
                raise RecordingNotFound(key) from exc
            raise
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def url(self, key: str, expires: timedelta) -> str:
        """A presigned GET URL; `RecordingNotFound` if nothing is stored under `key` (a browser
        would only get a 404 later)."""
        layout.check_key(key)
        layout.check_expiry(expires)
        self._stat(key)
        return self._signer.presigned_get_object(self._bucket, key, expires=expires)

    def for_call(self, tenant_id: str, call_id: str) -> list[RecordingInfo]:
        """One listing plus one HEAD per recording: listings carry no content type or metadata
        on S3 (MinIO's metadata extension is not portable), and a call has only a few files."""
        prefix = layout.call_prefix(tenant_id, call_id)
        try:
            names = sorted(
                item.object_name
                for item in self._client.list_objects(self._bucket, prefix=prefix, recursive=True)
                if item.object_name is not None and not item.is_dir
            )
        except S3Error as exc:
            if exc.code == "NoSuchBucket":
                return []
            raise
        return [self._info(key, self._stat(key), tenant_id, call_id) for key in names]

    # -- internals ----------------------------------------------------------------------------

    def _put(self, key: str, data: bytes, content_type: str, metadata: dict[str, str]) -> None:
        self.ensure_bucket()
        headers: DictType = dict(metadata)
        self._client.put_object(
            self._bucket,
            key,
            io.BytesIO(data),
            len(data),
            content_type=content_type,
            metadata=headers or None,
        )

    def _stat(self, key: str) -> Object:
        try:
            return self._client.stat_object(self._bucket, key)
        except S3Error as exc:
            if exc.code in _MISSING:
                raise RecordingNotFound(key) from exc
            raise

    @staticmethod
    def _info(key: str, stat: Object, tenant_id: str, call_id: str) -> RecordingInfo:
        meta = stat.metadata or {}
        campaign = meta.get(layout.METADATA_PREFIX + layout.CAMPAIGN_META)
        return RecordingInfo(
            key=key,
            tenant_id=tenant_id,
            call_id=call_id,
            campaign_id=campaign or None,
            content_type=stat.content_type or "application/octet-stream",
            size=stat.size or 0,
        )
