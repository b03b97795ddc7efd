"""In-memory fakes of the domain's ports, for tests, the simulator and the embedded demo.

Each one passes the same contract suite as its real adapter. `InMemoryContactLeases` is the
domain's own reference implementation, re-exported here so every fake has one home.
"""

from voxcore_adapters.fakes.agents import InMemoryAgents
from voxcore_adapters.fakes.call_log import InMemoryCallLog
from voxcore_adapters.fakes.campaigns import InMemoryCampaigns
from voxcore_adapters.fakes.contact_import import InMemoryContactImport
from voxcore_adapters.fakes.dnc import InMemoryDncList
from voxcore_adapters.fakes.fleet_api import InMemoryAgentConfigs, InMemoryCallReports
from voxcore_adapters.fakes.media_fakes import Callee, FakeTelephony, InMemoryRecordingStore
from voxcore_adapters.fakes.redis_fakes import (
    InMemoryCallEvents,
    InMemoryLeaderLock,
    InMemoryRateLimiter,
    InMemoryRuntimeConfigCache,
    InMemorySlotRegistry,
    ManualClock,
)
from voxcore_adapters.fakes.tenants import InMemoryTenants
from voxcore_domain.lease import InMemoryContactLeases

__all__ = [
    "Callee",
    "FakeTelephony",
    "InMemoryAgentConfigs",
    "InMemoryAgents",
    "InMemoryCallEvents",
    "InMemoryCallLog",
    "InMemoryCallReports",
    "InMemoryCampaigns",
    "InMemoryContactImport",
    "InMemoryContactLeases",
    "InMemoryDncList",
    "InMemoryLeaderLock",
    "InMemoryRateLimiter",
    "InMemoryRecordingStore",
    "InMemoryRuntimeConfigCache",
    "InMemorySlotRegistry",
    "InMemoryTenants",
    "ManualClock",
]
