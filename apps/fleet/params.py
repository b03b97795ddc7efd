"""How handlers name what Litestar injects: explicitly, as Litestar 2.23+ asks (it deprecates
inferring dependencies and path parameters from bare annotations)."""

from __future__ import annotations

from typing import TypeAlias

from litestar.di import NamedDependency
from litestar.params import FromPath

from apps.fleet.calls import CallRunner
from apps.fleet.health import Started
from apps.fleet.metrics import FleetMetrics
from apps.fleet.rooms import LiveKitCalls
from apps.fleet.settings import Settings
from apps.fleet.slot import SlotGuard

SettingsArg: TypeAlias = NamedDependency[Settings]
GuardArg: TypeAlias = NamedDependency[SlotGuard]
RunnerArg: TypeAlias = NamedDependency[CallRunner]
MetricsArg: TypeAlias = NamedDependency[FleetMetrics]
StartedArg: TypeAlias = NamedDependency[Started]
RoomsArg: TypeAlias = NamedDependency[LiveKitCalls]
PathName: TypeAlias = FromPath[str]
"""A name in the path."""
