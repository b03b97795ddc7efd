"""Voice agents: the configuration a fleet worker runs a call with."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import attrs

from voxcore_domain import validators as v
from voxcore_domain.errors import ValidationError

ProviderValue = str | int | float | bool
"""A provider setting's value: settings are flat, so every store and cache can hold them."""


class VoicemailPolicy(StrEnum):
    HANG_UP = "hang_up"
    """End the call as soon as a machine is detected."""
    LEAVE_MESSAGE = "leave_message"
    """Wait for the beep and say `voicemail_message`."""


def _voicemail_policy(value: object) -> VoicemailPolicy:
    return v.member(VoicemailPolicy, "voicemail_policy", value)


def _settings(value: Mapping[str, ProviderValue]) -> dict[str, ProviderValue]:
    return dict(value)


def _prompts(value: Mapping[str, str]) -> dict[str, str]:
    return dict(value)


def _flat_settings(_: Any, attribute: attrs.Attribute[Any], value: Mapping[str, Any]) -> None:
    for key, setting in value.items():
        if not isinstance(key, str) or not key:
            raise ValidationError(attribute.name, f"setting names must be text, got {key!r}")
        if not isinstance(setting, str | int | float | bool):
            raise ValidationError(
                attribute.name, f"{key!r} must be text, a number or a boolean, got {setting!r}"
            )


def _texts(_: Any, attribute: attrs.Attribute[Any], value: Mapping[str, Any]) -> None:
    for key, text in value.items():
        if not isinstance(key, str) or not key or not isinstance(text, str):
            raise ValidationError(attribute.name, f"{key!r} must name a text prompt")


@attrs.frozen
class Agent:
    """A voice agent configuration of one tenant."""

    id: str = attrs.field(validator=v.non_empty)
    tenant_id: str = attrs.field(validator=v.non_empty)
    name: str = attrs.field(validator=v.non_empty)
    greeting: str = attrs.field(validator=v.non_empty)
    """What the agent says first; it must also identify the caller as an artificial voice
    (FCC 24-17) — the platform does not rewrite it."""
    language: str = attrs.field(default="en-US", validator=v.non_empty)
    """BCP 47 tag of the language spoken."""
    voice: str = attrs.field(default="default", validator=v.non_empty)
    """The speech provider's voice name."""
    instructions: str = ""
    """The system prompt or script the model or scripted agent follows."""
    prompts: Mapping[str, str] = attrs.field(factory=dict, converter=_prompts, validator=_texts)
    """Named lines the script can say (e.g. `goodbye`, `opt_out`), by name."""
    provider: str = attrs.field(default="scripted", validator=v.non_empty)
    """Which call pipeline runs the agent: `scripted` (the deterministic default) or a model
    provider."""
    provider_settings: Mapping[str, ProviderValue] = attrs.field(
        factory=dict, converter=_settings, validator=_flat_settings
    )
    voicemail_policy: VoicemailPolicy = attrs.field(
        default=VoicemailPolicy.HANG_UP, converter=_voicemail_policy
    )
    voicemail_message: str | None = None
    version: int = attrs.field(default=1, validator=v.positive_int)
    """Grows with every change, so a cached copy can tell it is stale."""

    def __attrs_post_init__(self) -> None:
        if self.voicemail_policy is VoicemailPolicy.LEAVE_MESSAGE and not (
            self.voicemail_message and self.voicemail_message.strip()
        ):
            raise ValidationError(
                "voicemail_message", "is required when the voicemail policy is leave_message"
            )
