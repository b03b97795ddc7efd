"""Agents' runtime configs as this worker knows them: read from the API at call start, cached
for `ttl_s`, and the last known one used while the API cannot be reached.

A config the API no longer has (404: the agent was deleted) is forgotten: the call fails rather
than run with a deleted agent's settings.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import attrs

from voxcore_domain.ports import AgentConfigNotFound, AgentConfigs, Clock, ConfigUnavailable
from voxcore_domain.voice.agent_config import AgentConfig

log = logging.getLogger(__name__)


class NoConfig(Exception):
    """No config to run the call with; `reason` says why, for the call's outcome."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@attrs.frozen
class _Known:
    config: AgentConfig
    read_at: datetime
    """When the API last gave it."""


class ConfigBook:
    """The configs this worker has read, by agent id."""

    def __init__(self, source: AgentConfigs, clock: Clock, ttl_s: float) -> None:
        self._source = source
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_s)
        self._known: dict[str, _Known] = {}

    async def get(self, agent_id: str) -> AgentConfig:
        """The agent's config: cached while fresh, else from the API, else the last known one
        if the API is unreachable; `NoConfig` when there is none."""
        known = self._known.get(agent_id)
        now = self._clock.now()
        if known is not None and now - known.read_at < self._ttl:
            return known.config
        try:
            config = await self._source.get(agent_id)
        except AgentConfigNotFound:
            self._known.pop(agent_id, None)
            raise NoConfig(f"the API has no agent {agent_id}") from None
        except ConfigUnavailable as error:
            if known is None:
                raise NoConfig(f"no runtime config for agent {agent_id}: {error}") from None
            log.warning(
                "runtime config of agent %s unavailable (%s): running version %d read at %s",
                agent_id,
                error,
                known.config.version,
                known.read_at.isoformat(),
            )
            return known.config
        self._known[agent_id] = _Known(config, now)
        return config
