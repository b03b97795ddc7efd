"""Recordings in S3-compatible storage (MinIO per fleet host in production). The MinIO client
library is imported when a connection or store is first used, not with `layout`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voxcore_adapters import lazy

if TYPE_CHECKING:
    from voxcore_adapters.s3.connection import S3Connection
    from voxcore_adapters.s3.first_use import S3RecordingsOnFirstUse
    from voxcore_adapters.s3.recordings import S3RecordingStore

_EXPORTS = {
    "S3Connection": "voxcore_adapters.s3.connection",
    "S3RecordingStore": "voxcore_adapters.s3.recordings",
    "S3RecordingsOnFirstUse": "voxcore_adapters.s3.first_use",
}
"""Where each name lives: its module is imported on first use (`voxcore_adapters.lazy`)."""

__getattr__ = lazy.exports(__name__, _EXPORTS)


__all__ = [
    "S3Connection",
    "S3RecordingStore",
    "S3RecordingsOnFirstUse",
]
