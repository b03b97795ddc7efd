"""The version of VoxBridge this worker runs, as installed."""

from __future__ import annotations

from importlib.metadata import version

VERSION = version("voxbridge")
