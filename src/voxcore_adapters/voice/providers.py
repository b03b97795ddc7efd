"""Which `CallPipeline` runs an agent, from its configuration: `scripted` (the deterministic
default) or `realtime` (speech-to-speech over a realtime WebSocket session).

For `scripted`, the agent's greeting opens the script; its `reply_<n>` prompts answer the
caller's turns in order of `n`; its named prompts may replace the closing (`closing`, else
`goodbye`), the transfer's hold line (`transfer`) and apology (`transfer_failed`); its
`provider_settings` may name a transfer target (`transfer_to`), the key that asks for it
(`transfer_digit`, default `0`) and whether the script ends with a transfer (`transfer_at_end`).
For `realtime`, `provider_settings` carries `url`, `model`, `voice` (see `RealtimeSettings`);
the API key is the worker's own (`VOX_FLEET_REALTIME_API_KEY`), never the agent's. A worker
that names its realtime endpoint (`realtime_url`) sends its key there and nowhere else: an
agent whose `url` names another endpoint is refused, so no agent can redirect the key.

The realtime adapter (and aiohttp under it) is imported when an agent first needs it: a worker
whose agents are all scripted never loads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from voxcore_adapters.voice.scripted import ScriptedAgent
from voxcore_domain.agents import ProviderValue, VoicemailPolicy
from voxcore_domain.errors import ValidationError
from voxcore_domain.ports import CallPipeline, SpeechSynth
from voxcore_domain.voice.agent_config import closing_prompt, numbered_replies
from voxcore_domain.voice.script import Script

if TYPE_CHECKING:
    from voxcore_adapters.voice.realtime import RealtimeSettings

SCRIPTED = "scripted"
REALTIME = "realtime"
"""`voxcore_adapters.voice.realtime.PROVIDER`, named here so choosing needs no aiohttp."""
PROVIDERS = (SCRIPTED, REALTIME)


class AgentLike(Protocol):
    """What choosing a pipeline reads of an agent: an `Agent` as the API stores it, or the
    `AgentConfig` a fleet worker reads from the API."""

    @property
    def greeting(self) -> str: ...
    @property
    def instructions(self) -> str: ...
    @property
    def prompts(self) -> Mapping[str, str]: ...
    @property
    def provider(self) -> str: ...
    @property
    def provider_settings(self) -> Mapping[str, ProviderValue]: ...
    @property
    def voicemail_policy(self) -> VoicemailPolicy: ...
    @property
    def voicemail_message(self) -> str | None: ...


def script_for(agent: AgentLike) -> Script:
    """The scripted agent's script for `agent`; `ValidationError` naming the bad setting."""
    settings = agent.provider_settings
    default = Script()
    changes: dict[str, Any] = {"greeting": agent.greeting}
    replies = numbered_replies(agent.prompts)
    if replies:
        changes["replies"] = replies
    closing = closing_prompt(agent.prompts)
    if closing is not None:
        changes["closing"] = closing
    for prompt, field in (("transfer", "transfer_prompt"), ("transfer_failed", "transfer_failed")):
        if prompt in agent.prompts:
            changes[field] = agent.prompts[prompt]
    changes["voicemail"] = (
        agent.voicemail_message or default.voicemail
        if agent.voicemail_policy is VoicemailPolicy.LEAVE_MESSAGE
        else None
    )
    if "transfer_to" in settings:
        changes["transfer_to"] = settings["transfer_to"]
    if "transfer_digit" in settings:
        changes["transfer_digit"] = str(settings["transfer_digit"])
    if "transfer_at_end" in settings:
        at_end = settings["transfer_at_end"]
        if not isinstance(at_end, bool):
            raise ValidationError("provider_settings.transfer_at_end", "must be true or false")
        changes["transfer_at_end"] = at_end
    try:
        return attrs.evolve(default, **changes)
    except ValidationError as error:
        where = {
            "transfer_to": "provider_settings.transfer_to",
            "transfer_digit": "provider_settings.transfer_digit",
            "closing": "prompts.closing" if "closing" in agent.prompts else "prompts.goodbye",
            "replies": "prompts.reply_<n>",
            "transfer_prompt": "prompts.transfer",
        }
        raise ValidationError(where.get(error.field, error.field), error.message) from None


def realtime_settings(
    agent: AgentLike, *, realtime_api_key: str | None, realtime_url: str | None = None
) -> RealtimeSettings:
    """The realtime session of `agent`: its settings, the worker's key, and the worker's
    endpoint when it names one; `ValidationError` naming the bad setting."""
    from voxcore_adapters.voice.realtime import RealtimeSettings

    provider_settings: dict[str, object] = dict(agent.provider_settings)
    if realtime_url is not None:
        asked = provider_settings.setdefault("url", realtime_url)
        if asked != realtime_url:
            raise ValidationError(
                "provider_settings.url",
                "this worker's realtime key goes only to its own endpoint "
                "(VOX_FLEET_REALTIME_URL); remove the agent's url",
            )
    return RealtimeSettings.from_provider(
        provider_settings,
        api_key=realtime_api_key,
        instructions=agent.instructions,
        greeting=agent.greeting,
    )


def pipeline_for(
    agent: AgentLike,
    *,
    synth: SpeechSynth,
    realtime_api_key: str | None,
    realtime_url: str | None = None,
) -> CallPipeline:
    """The pipeline that runs `agent`'s calls."""
    if agent.provider == SCRIPTED:
        return ScriptedAgent(script_for(agent), synth)
    if agent.provider == REALTIME:
        from voxcore_adapters.voice.realtime import RealtimeAgent

        return RealtimeAgent(
            realtime_settings(agent, realtime_api_key=realtime_api_key, realtime_url=realtime_url)
        )
    raise ValidationError("provider", f"{agent.provider!r} is not one of {', '.join(PROVIDERS)}")
