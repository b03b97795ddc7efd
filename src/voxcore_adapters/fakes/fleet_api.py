"""In-memory fakes of the API's internal routes a fleet worker uses: call reports and runtime
config. They follow the same contract as `voxcore_adapters.internal_api`."""

from __future__ import annotations

from collections.abc import Iterable

from voxcore_domain.ports import (
    AgentConfigNotFound,
    ConfigUnavailable,
    ReportAnswer,
    ReportRejected,
    ReportUndelivered,
)
from voxcore_domain.voice.agent_config import AgentConfig
from voxcore_domain.voice.report import WorkerReport


class InMemoryReportSender:
    """Keeps each report once per (`call_id`, `sequence`). `calls`, when given, are the call
    ids the "API" has attempts for: reports of others are rejected as 404, but a stand-alone
    call's (`origin` set), which records its call as the API's does. `down` makes every send
    fail as an unreachable API does."""

    def __init__(self, calls: Iterable[str] | None = None) -> None:
        self.calls = None if calls is None else set(calls)
        self.down = False
        self.reports: dict[tuple[str, int], WorkerReport] = {}
        self.sends = 0

    async def send(self, report: WorkerReport) -> ReportAnswer:
        self.sends += 1
        if self.down:
            raise ReportUndelivered("the API is down")
        if self.calls is not None and report.call_id not in self.calls:
            if report.origin is None:
                raise ReportRejected(404, f"no call attempt {report.call_id!r}")
            self.calls.add(report.call_id)
        key = (report.call_id, report.sequence)
        if key in self.reports:
            return ReportAnswer.DUPLICATE
        self.reports[key] = report
        return ReportAnswer.ACCEPTED

    def of_call(self, call_id: str) -> list[WorkerReport]:
        """The call's reports, in sequence order."""
        return sorted(
            (r for (c, _), r in self.reports.items() if c == call_id), key=lambda r: r.sequence
        )


class InMemoryAgentConfigs:
    """Agent configs by id; `down` makes every read fail as an unreachable API does."""

    def __init__(self, configs: Iterable[AgentConfig] = ()) -> None:
        self.configs = {config.agent_id: config for config in configs}
        self.down = False
        self.reads = 0

    async def get(self, agent_id: str) -> AgentConfig:
        self.reads += 1
        if self.down:
            raise ConfigUnavailable("the API is down")
        config = self.configs.get(agent_id)
        if config is None:
            raise AgentConfigNotFound(agent_id)
        return config
