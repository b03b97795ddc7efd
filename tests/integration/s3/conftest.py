"""Fixtures for the recording store's tests: one S3 server per session (SeaweedFS on loopback,
or `VOX_TEST_S3_URL`), a fresh bucket per test, and `store`, which runs a contract test on the
in-memory fake and on S3."""

from __future__ import annotations

import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from minio.deleteobjects import DeleteObject

from voxcore_adapters.fakes.media_fakes import InMemoryRecordingStore
from voxcore_adapters.s3 import S3Connection, S3RecordingsOnFirstUse, S3RecordingStore
from voxcore_adapters.testing.s3_server import s3_server


class TickingClock:
    """A `Clock` the fake's URL expiry is checked against; the S3 server uses real time."""

    def __init__(self) -> None:
        self._now = datetime(2024, 6, 5, 12, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


@pytest.fixture(scope="session")
def s3_connection() -> Iterator[S3Connection]:
    with s3_server() as connection:
        yield connection


def _remove_bucket(connection: S3Connection, bucket: str) -> None:
    client = connection.client()
    if not client.bucket_exists(bucket):
        return
    names = [o.object_name for o in client.list_objects(bucket, recursive=True) if o.object_name]
    errors = list(client.remove_objects(bucket, [DeleteObject(name) for name in names]))
    assert not errors, errors
    client.remove_bucket(bucket)


@pytest.fixture
def bucket(s3_connection: S3Connection) -> Iterator[str]:
    """A bucket name nobody uses yet (the bucket itself does not exist); removed afterwards,
    so the suite can run against a shared MinIO."""
    name = f"vox-test-{uuid.uuid4().hex[:12]}"
    yield name
    _remove_bucket(s3_connection, name)


@pytest.fixture
def s3_store(s3_connection: S3Connection, bucket: str) -> S3RecordingStore:
    return S3RecordingStore(s3_connection, bucket)


class StoreWorld:
    """Where a contract test runs: the fake on a manual clock, or S3 in real time."""

    def __init__(
        self,
        kind: str,
        store: InMemoryRecordingStore | S3RecordingStore | S3RecordingsOnFirstUse,
        clock: TickingClock,
    ) -> None:
        self.kind = kind
        self.store = store
        self.clock = clock

    def fetch(self, url: str) -> bytes:
        """What a browser gets from a presigned URL."""
        if isinstance(self.store, InMemoryRecordingStore):
            return self.store.fetch(url)
        with urllib.request.urlopen(url, timeout=10) as response:
            return bytes(response.read())


@pytest.fixture(params=["fake", "s3", "s3-on-first-use"])
def world(request: pytest.FixtureRequest) -> StoreWorld:
    clock = TickingClock()
    if request.param == "fake":
        return StoreWorld("fake", InMemoryRecordingStore(clock=clock), clock)
    if request.param == "s3-on-first-use":
        connection = request.getfixturevalue("s3_connection")
        bucket = request.getfixturevalue("bucket")
        return StoreWorld("s3", S3RecordingsOnFirstUse(connection, bucket), clock)
    store = request.getfixturevalue("s3_store")
    return StoreWorld("s3", store, clock)
