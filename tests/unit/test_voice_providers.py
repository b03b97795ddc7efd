"""Choosing an agent's pipeline from its configuration, and the script a scripted agent gets."""

from __future__ import annotations

from typing import Any

import pytest

from voxcore_adapters.voice.providers import pipeline_for, script_for
from voxcore_adapters.voice.realtime import RealtimeAgent
from voxcore_adapters.voice.scripted import ScriptedAgent
from voxcore_adapters.voice.tones import ToneSynth
from voxcore_domain.agents import Agent, VoicemailPolicy
from voxcore_domain.errors import ValidationError

KEY = "sk-test-key-for-the-realtime-provider"


def agent(**changes: Any) -> Agent:
    values: dict[str, Any] = {
        "id": "agent-1",
        "tenant_id": "tenant-1",
        "name": "Front desk",
        "greeting": "Hi {name}, this is an automated assistant.",
        **changes,
    }
    return Agent(**values)


def test_a_scripted_agent_gets_its_greeting_prompts_and_transfer_target() -> None:
    script = script_for(
        agent(
            prompts={"goodbye": "Bye now.", "transfer": "One moment."},
            provider_settings={"transfer_to": "+14155550199", "transfer_digit": 9},
            voicemail_policy=VoicemailPolicy.LEAVE_MESSAGE,
            voicemail_message="Call us back.",
        )
    )
    assert script.greeting == "Hi {name}, this is an automated assistant."
    assert (script.closing, script.transfer_prompt) == ("Bye now.", "One moment.")
    assert (script.transfer_to, script.transfer_digit) == ("+14155550199", "9")
    assert script.voicemail == "Call us back."
    assert script_for(agent()).voicemail is None
    assert script_for(agent()).transfer_to is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"provider_settings": {"transfer_to": "desk"}}, "provider_settings.transfer_to"),
        ({"provider_settings": {"transfer_digit": "x"}}, "provider_settings.transfer_digit"),
        ({"provider_settings": {"transfer_at_end": "yes"}}, "provider_settings.transfer_at_end"),
        ({"prompts": {"goodbye": " "}}, "prompts.goodbye"),
        ({"provider": "acme"}, "provider"),
        (
            {"provider": "realtime", "provider_settings": {"url": "http://x"}},
            "provider_settings.url",
        ),
    ],
)
def test_a_bad_configuration_is_refused_naming_the_setting(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        pipeline_for(agent(**changes), synth=ToneSynth(), realtime_api_key=KEY)
    assert refused.value.field == field


def test_the_provider_selects_the_pipeline() -> None:
    assert isinstance(
        pipeline_for(agent(), synth=ToneSynth(), realtime_api_key=None), ScriptedAgent
    )
    realtime = agent(provider="realtime", provider_settings={"model": "gpt-realtime"})
    assert isinstance(
        pipeline_for(realtime, synth=ToneSynth(), realtime_api_key=KEY), RealtimeAgent
    )
    with pytest.raises(ValidationError) as refused:
        pipeline_for(realtime, synth=ToneSynth(), realtime_api_key=None)
    assert refused.value.field == "realtime_api_key"
