"""Recordings in S3-compatible storage (MinIO per fleet host in production)."""

from voxcore_adapters.s3.connection import S3Connection
from voxcore_adapters.s3.recordings import S3RecordingStore

__all__ = ["S3Connection", "S3RecordingStore"]
