"""`S3RecordingsOnFirstUse`: the S3 recording store, made at its first request.

The `minio` library brings its admin client and, under it, pycryptodome, argon2 and cffi: about
5 MB of a fleet worker's memory. A worker uploads only when a call ends (or its spool holds a
recording from an earlier run), so it loads the library then, not at start.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import TYPE_CHECKING

from voxcore_adapters.s3 import layout
from voxcore_adapters.s3.connection import S3Connection
from voxcore_domain.ports import RecordingInfo

if TYPE_CHECKING:
    from voxcore_adapters.s3.recordings import S3RecordingStore


class S3RecordingsOnFirstUse:
    """`CallRecordings` on one bucket, as `S3RecordingStore`, whose client is made at the first
    request. The bucket name is checked at once, so a bad one still fails at start.
    Thread-safe: uploads run in worker threads."""

    def __init__(
        self, connection: S3Connection, bucket: str, *, public_url: str | None = None
    ) -> None:
        self._connection = connection
        self._bucket = layout.check_bucket(bucket)
        self._public_url = public_url
        self._lock = threading.Lock()
        self._made: S3RecordingStore | None = None

    def _store(self) -> S3RecordingStore:
        with self._lock:
            if self._made is None:
                from voxcore_adapters.s3.recordings import S3RecordingStore

                self._made = S3RecordingStore(
                    self._connection, self._bucket, public_url=self._public_url
                )
            return self._made

    @property
    def bucket(self) -> str:
        return self._bucket

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self._store().put(key, data, content_type)

    def get(self, key: str) -> bytes:
        return self._store().get(key)

    def url(self, key: str, expires: timedelta) -> str:
        return self._store().url(key, expires)

    def put_recording(
        self,
        tenant_id: str,
        campaign_id: str,
        call_id: str,
        name: str,
        data: bytes,
        content_type: str = "audio/wav",
    ) -> RecordingInfo:
        return self._store().put_recording(
            tenant_id, campaign_id, call_id, name, data, content_type
        )

    def for_call(self, tenant_id: str, call_id: str) -> list[RecordingInfo]:
        return self._store().for_call(tenant_id, call_id)
