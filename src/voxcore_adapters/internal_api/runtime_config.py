"""`AgentConfigs` over HTTP: `GET /v1/runtime-config/{agent_id}` with the internal token."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from voxcore_adapters.internal_api.connection import ApiConnection
from voxcore_domain.ports import AgentConfigNotFound, ConfigUnavailable
from voxcore_domain.voice.agent_config import AgentConfig


class HttpAgentConfigs:
    """The API's runtime-config route."""

    def __init__(self, connection: ApiConnection) -> None:
        self._connection = connection

    async def get(self, agent_id: str) -> AgentConfig:
        path = f"/v1/runtime-config/{quote(agent_id, safe='')}"
        try:
            answer = await self._connection.client().get(path)
        except httpx.HTTPError as error:
            raise ConfigUnavailable(f"the API did not answer: {error!r}") from error
        if answer.status_code == 404:
            raise AgentConfigNotFound(agent_id)
        if answer.status_code != 200:
            raise ConfigUnavailable(f"the API answered {answer.status_code}")
        try:
            return _config(answer.json())
        except (ValueError, KeyError, TypeError) as error:
            # A body this worker cannot read (another release of the API): no config to run.
            raise ConfigUnavailable(f"unreadable runtime config: {error!r}") from error


def _config(body: Any) -> AgentConfig:
    return AgentConfig(
        agent_id=str(body["agent_id"]),
        tenant_id=str(body["tenant_id"]),
        version=int(body["version"]),
        name=str(body["name"]),
        greeting=str(body["greeting"]),
        language=str(body["language"]),
        voice=str(body["voice"]),
        instructions=str(body["instructions"]),
        provider=str(body["provider"]),
        voicemail_policy=body["voicemail_policy"],
        voicemail_message=body.get("voicemail_message"),
        prompts={str(k): str(v) for k, v in dict(body["prompts"]).items()},
        provider_settings=dict(body["provider_settings"]),
    )
