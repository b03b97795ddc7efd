"""Each call's pipeline, chosen by its agent's runtime config (`provider`): the scripted agent
speaking in tones, or the realtime speech-to-speech session with this worker's key and
endpoint (`voxcore_adapters.voice.providers`)."""

from __future__ import annotations

import attrs

from apps.fleet.settings import DEFAULT_REALTIME_URL
from voxcore_adapters.voice.providers import pipeline_for
from voxcore_adapters.voice.tones import ToneSynth
from voxcore_domain.ports import CallPipeline, SpeechSynth
from voxcore_domain.voice.agent_config import AgentConfig


@attrs.frozen
class Pipelines:
    """Picks a call's pipeline from its agent's config; `ValidationError` naming the setting
    that keeps the agent from running."""

    realtime_api_key: str | None = attrs.field(default=None, repr=False)
    """`VOX_FLEET_REALTIME_API_KEY`; None: realtime agents cannot run here."""
    realtime_url: str = DEFAULT_REALTIME_URL
    """`VOX_FLEET_REALTIME_URL`: where the key may go."""
    synth: SpeechSynth = attrs.field(factory=ToneSynth)
    """How the scripted agent's prompts become audio."""

    def __call__(self, config: AgentConfig) -> CallPipeline:
        return pipeline_for(
            config,
            synth=self.synth,
            realtime_api_key=self.realtime_api_key,
            realtime_url=self.realtime_url,
        )
