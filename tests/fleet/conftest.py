"""Fixtures for the fleet worker's tests: a worker app on in-memory adapters by default, the
real S3 server (SeaweedFS, or `VOX_TEST_S3_URL`) and Redis once per session for the tests that
check what lands there."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from minio.deleteobjects import DeleteObject

from apps.fleet.settings import Backend, Settings
from voxcore_adapters.s3 import S3Connection, S3RecordingStore
from voxcore_adapters.testing.redis_server import redis_url
from voxcore_adapters.testing.s3_server import s3_server


@pytest.fixture(scope="session")
def s3_connection() -> Iterator[S3Connection]:
    with s3_server() as connection:
        yield connection


@pytest.fixture
def bucket(s3_connection: S3Connection) -> Iterator[str]:
    """A fresh bucket name (created by the first upload), removed with its objects afterwards."""
    name = f"vox-fleet-{uuid.uuid4().hex[:12]}"
    yield name
    client = s3_connection.client()
    if client.bucket_exists(name):
        objects = [o.object_name for o in client.list_objects(name, recursive=True)]
        errors = list(client.remove_objects(name, [DeleteObject(n) for n in objects if n]))
        assert not errors, errors
        client.remove_bucket(name)


@pytest.fixture
def s3_recordings(s3_connection: S3Connection, bucket: str) -> S3RecordingStore:
    return S3RecordingStore(s3_connection, bucket)


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    with redis_url() as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A worker on the memory backend with a private spool and short waits."""
    return Settings(
        worker="7",
        host="fleet-test",
        backend=Backend.MEMORY,
        spool_dir=str(tmp_path / "spool"),
        media_wait_s=0.5,
        media_idle_s=1.0,
        upload_backoff_s=0.01,
        heartbeat_s=0.5,
        slot_ttl_s=5.0,
    )
