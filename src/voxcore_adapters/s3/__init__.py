"""Recordings in S3-compatible storage (MinIO per fleet host in production). The MinIO client
library is imported when a connection or store is first used, not with `layout`."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from voxcore_adapters.s3.connection import S3Connection
    from voxcore_adapters.s3.first_use import S3RecordingsOnFirstUse
    from voxcore_adapters.s3.recordings import S3RecordingStore

_EXPORTS = {
    "S3Connection": "voxcore_adapters.s3.connection",
    "S3RecordingStore": "voxcore_adapters.s3.recordings",
    "S3RecordingsOnFirstUse": "voxcore_adapters.s3.first_use",
}
"""Where each name lives: its module is imported on first use, so that importing one light
module of this package (or the package) does not load the client library under the others."""


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "S3Connection",
    "S3RecordingStore",
    "S3RecordingsOnFirstUse",
]
