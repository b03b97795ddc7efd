"""A package's names imported on first use: its `__init__` says where each name lives, so that
importing the package (or one light module of it) does not load the client library under the
others (redis-py, httpx, the LiveKit SDKs, the MinIO client)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def exports(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """The module `__getattr__` of `package`: each name of `where` (name → its module), from
    its module, imported on first use."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return __getattr__
