"""The fleet worker's HTTP client of the API's internal routes (internal token): call reports
(`POST /v1/internal/call-events`) and runtime config (`GET /v1/runtime-config/{agent_id}`).
httpx is imported with the client, not with the report's wire format (`wire`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voxcore_adapters import lazy

if TYPE_CHECKING:
    from voxcore_adapters.internal_api.call_reports import HttpReportSender
    from voxcore_adapters.internal_api.connection import ApiConnection
    from voxcore_adapters.internal_api.runtime_config import HttpAgentConfigs
    from voxcore_adapters.internal_api.wire import report_body, report_from_body

_EXPORTS = {
    "HttpReportSender": "voxcore_adapters.internal_api.call_reports",
    "ApiConnection": "voxcore_adapters.internal_api.connection",
    "HttpAgentConfigs": "voxcore_adapters.internal_api.runtime_config",
    "report_body": "voxcore_adapters.internal_api.wire",
    "report_from_body": "voxcore_adapters.internal_api.wire",
}
"""Where each name lives: its module is imported on first use (`voxcore_adapters.lazy`)."""

__getattr__ = lazy.exports(__name__, _EXPORTS)


__all__ = [
    "ApiConnection",
    "HttpAgentConfigs",
    "HttpReportSender",
    "report_body",
    "report_from_body",
]
