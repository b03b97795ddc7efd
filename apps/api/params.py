"""How handlers name what Litestar injects: explicitly, as Litestar 2.23+ asks (it deprecates
inferring dependencies and path parameters from bare annotations)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

from litestar.di import NamedDependency
from litestar.params import FromPath

from apps.api.caller import Caller
from apps.api.deps import Deps, HealthCheck
from apps.api.settings import Settings

DepsArg: TypeAlias = NamedDependency[Deps]
CallerArg: TypeAlias = NamedDependency[Caller]
SettingsArg: TypeAlias = NamedDependency[Settings]
ChecksArg: TypeAlias = NamedDependency[Mapping[str, HealthCheck]]
PathId: TypeAlias = FromPath[str]
"""An id (or number) in the path."""
