"""Voice agents in a dict."""

from __future__ import annotations

from voxcore_domain.agents import Agent


class InMemoryAgents:
    """The `Agents` port over a dict."""

    def __init__(self) -> None:
        self._agents: dict[str, Agent] = {}

    def put(self, agent: Agent) -> None:
        self._agents[agent.id] = agent

    def replace(self, agent: Agent, expected_version: int) -> bool:
        stored = self._agents.get(agent.id)
        if stored is None or stored.version != expected_version:
            return False
        self._agents[agent.id] = agent
        return True

    def get(self, agent_id: str) -> Agent | None:
        return self._agents.get(agent_id)

    def of_tenant(self, tenant_id: str) -> list[Agent]:
        return [a for _, a in sorted(self._agents.items()) if a.tenant_id == tenant_id]

    def delete(self, agent_id: str) -> bool:
        return self._agents.pop(agent_id, None) is not None
