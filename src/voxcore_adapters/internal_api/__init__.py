"""The fleet worker's HTTP client of the API's internal routes (internal token): call reports
(`POST /v1/internal/call-events`) and runtime config (`GET /v1/runtime-config/{agent_id}`)."""

from voxcore_adapters.internal_api.call_reports import HttpReportSender
from voxcore_adapters.internal_api.connection import ApiConnection
from voxcore_adapters.internal_api.runtime_config import HttpAgentConfigs
from voxcore_adapters.internal_api.wire import report_body, report_from_body

__all__ = [
    "ApiConnection",
    "HttpAgentConfigs",
    "HttpReportSender",
    "report_body",
    "report_from_body",
]
