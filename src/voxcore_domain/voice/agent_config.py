"""An agent's runtime config as a fleet worker runs a call with it (the API's
`GET /v1/runtime-config/{agent_id}`), and the script the default scripted agent reads from it."""

from __future__ import annotations

import re
from collections.abc import Mapping

import attrs

from voxcore_domain import validators as v
from voxcore_domain.agents import ProviderValue, VoicemailPolicy
from voxcore_domain.voice.script import Script

_REPLY = re.compile(r"^reply_?([0-9]+)$")
CLOSING_PROMPTS = ("closing", "goodbye")
"""Prompt names the scripted agent closes with, in order of preference."""


def _prompts(value: Mapping[str, str]) -> dict[str, str]:
    return dict(value)


def _provider_settings(value: Mapping[str, ProviderValue]) -> dict[str, ProviderValue]:
    return dict(value)


def numbered_replies(prompts: Mapping[str, str]) -> tuple[str, ...]:
    """The `reply_<n>` prompts in order of `n`: the scripted agent's answers, one per turn."""
    numbered = sorted(
        (int(found.group(1)), text)
        for name, text in prompts.items()
        if (found := _REPLY.match(name))
    )
    return tuple(text for _, text in numbered)


def closing_prompt(prompts: Mapping[str, str]) -> str | None:
    """The prompt the scripted agent closes with (`closing`, else `goodbye`); None: neither."""
    return next((prompts[name] for name in CLOSING_PROMPTS if name in prompts), None)


@attrs.frozen
class AgentConfig:
    """What the API says a call of this agent runs with."""

    agent_id: str = attrs.field(validator=v.non_empty)
    tenant_id: str = attrs.field(validator=v.non_empty)
    version: int = attrs.field(validator=v.positive_int)
    """Grows with every change of the agent: tells which config a worker holds."""
    name: str
    greeting: str
    language: str
    voice: str
    instructions: str
    provider: str
    voicemail_policy: VoicemailPolicy = attrs.field(converter=VoicemailPolicy)
    voicemail_message: str | None = None
    prompts: Mapping[str, str] = attrs.field(factory=dict, converter=_prompts)
    """Named prompts: `reply_1`, `reply_2`, … and `closing` (or `goodbye`) for the script."""
    provider_settings: Mapping[str, ProviderValue] = attrs.field(
        factory=dict, converter=_provider_settings
    )

    def script(self) -> Script:
        """The scripted agent's script: the agent's greeting; its `reply_<n>` prompts in order
        of `n` (the default replies when it has none); its closing; its voicemail message when
        the policy is to leave one, else hang up on machines."""
        default = Script()
        closing = closing_prompt(self.prompts)
        leaves_message = self.voicemail_policy is VoicemailPolicy.LEAVE_MESSAGE
        return Script(
            greeting=self.greeting,
            replies=numbered_replies(self.prompts) or default.replies,
            closing=default.closing if closing is None else closing,
            voicemail=(self.voicemail_message or default.voicemail) if leaves_message else None,
        )
