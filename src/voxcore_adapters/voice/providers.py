"""Which `CallPipeline` runs an agent, from its configuration: `scripted` (the deterministic
default) or `realtime` (speech-to-speech over a realtime WebSocket session).

For `scripted`, the agent's greeting opens the script; its named prompts may replace the
goodbye (`goodbye`), the transfer's hold line (`transfer`) and apology (`transfer_failed`);
its `provider_settings` may name a transfer target (`transfer_to`), the key that asks for it
(`transfer_digit`, default `0`) and whether the script ends with a transfer (`transfer_at_end`).
For `realtime`, `provider_settings` carries `url`, `model`, `voice` (see `RealtimeSettings`);
the API key is the worker's own (`VOX_FLEET_REALTIME_API_KEY`), never the agent's.
"""

from __future__ import annotations

from typing import Any

import attrs

from voxcore_adapters.voice.realtime import PROVIDER as REALTIME
from voxcore_adapters.voice.realtime import RealtimeAgent, RealtimeSettings
from voxcore_adapters.voice.scripted import ScriptedAgent
from voxcore_domain.agents import Agent, VoicemailPolicy
from voxcore_domain.errors import ValidationError
from voxcore_domain.ports import CallPipeline, SpeechSynth
from voxcore_domain.voice.script import Script

SCRIPTED = "scripted"
PROVIDERS = (SCRIPTED, REALTIME)


def script_for(agent: Agent) -> Script:
    """The scripted agent's script for `agent`; `ValidationError` naming the bad setting."""
    settings = agent.provider_settings
    changes: dict[str, Any] = {"greeting": agent.greeting}
    for prompt, field in (
        ("goodbye", "closing"),
        ("transfer", "transfer_prompt"),
        ("transfer_failed", "transfer_failed"),
    ):
        if prompt in agent.prompts:
            changes[field] = agent.prompts[prompt]
    changes["voicemail"] = (
        agent.voicemail_message if agent.voicemail_policy is VoicemailPolicy.LEAVE_MESSAGE else None
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
        return attrs.evolve(Script(), **changes)
    except ValidationError as error:
        where = {
            "transfer_to": "provider_settings.transfer_to",
            "transfer_digit": "provider_settings.transfer_digit",
            "closing": "prompts.goodbye",
            "transfer_prompt": "prompts.transfer",
        }
        raise ValidationError(where.get(error.field, error.field), error.message) from None


def pipeline_for(agent: Agent, *, synth: SpeechSynth, realtime_api_key: str | None) -> CallPipeline:
    """The pipeline that runs `agent`'s calls."""
    if agent.provider == SCRIPTED:
        return ScriptedAgent(script_for(agent), synth)
    if agent.provider == REALTIME:
        settings = RealtimeSettings.from_provider(
            agent.provider_settings,
            api_key=realtime_api_key,
            instructions=agent.instructions,
            greeting=agent.greeting,
        )
        return RealtimeAgent(settings)
    raise ValidationError("provider", f"{agent.provider!r} is not one of {', '.join(PROVIDERS)}")
