"""In-memory fakes of the domain's ports, for tests, the simulator and the embedded demo.

Each one passes the same contract suite as its real adapter. `InMemoryContactLeases` is the
domain's own reference implementation, re-exported here so every fake has one home.
"""

from voxcore_adapters.fakes.agents import InMemoryAgents
from voxcore_adapters.fakes.call_log import InMemoryCallLog
from voxcore_adapters.fakes.campaigns import InMemoryCampaigns
from voxcore_adapters.fakes.channels import InMemoryTrunkChannels
from voxcore_adapters.fakes.contact_import import InMemoryContactImport
from voxcore_adapters.fakes.dnc import InMemoryDncList
from voxcore_adapters.fakes.fleet_api import InMemoryAgentConfigs, InMemoryReportSender
from voxcore_adapters.fakes.media_fakes import (
    Callee,
    FakeAbandonMessages,
    FakeTelephony,
    InMemoryRecordingStore,
)
from voxcore_adapters.fakes.pause import InMemoryPauseSwitch
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
    "FakeAbandonMessages",
    "FakeTelephony",
    "InMemoryAgentConfigs",
    "InMemoryAgents",
    "InMemoryCallEvents",
    "InMemoryCallLog",
    "InMemoryCampaigns",
    "InMemoryContactImport",
    "InMemoryContactLeases",
    "InMemoryDncList",
    "InMemoryLeaderLock",
    "InMemoryPauseSwitch",
    "InMemoryRateLimiter",
    "InMemoryRecordingStore",
    "InMemoryReportSender",
    "InMemoryRuntimeConfigCache",
    "InMemorySlotRegistry",
    "InMemoryTenants",
    "InMemoryTrunkChannels",
    "ManualClock",
]
