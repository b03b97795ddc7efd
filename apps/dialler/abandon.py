"""What the dialler says into an answered call no worker took in time (`AbandonMessages`).

With LiveKit, the dialler joins the call's room itself and publishes the campaign's message,
rendered by the same tone synth the scripted agent speaks with until a real TTS provider is
configured (`voxcore_adapters.livekit.abandon`). On the simulated carrier the same rendering is
said straight to the simulated callee over its call leg (`voxcore_adapters.sim.abandon`), which
keeps what the callee heard.
"""

from __future__ import annotations

import asyncio

from apps.dialler.settings import Settings
from voxcore_adapters.livekit import LiveKitSettings
from voxcore_adapters.livekit.abandon import LiveKitAbandonMessages
from voxcore_adapters.sim import SimAbandonMessages, SimTelephony
from voxcore_adapters.voice.tones import ToneSynth
from voxcore_domain.ports import AbandonMessages, Telephony


class OffLoopTones:
    """`ToneSynth` rendering in a worker thread: it computes its tones in Python (tens of
    milliseconds for a short message, more for a long one), which on the loop would hold every
    other call and the next tick. Each text is computed once (`ToneSynth` keeps its renderings)."""

    def __init__(self, tones: ToneSynth | None = None) -> None:
        self._tones = tones or ToneSynth()

    async def render(self, text: str) -> bytes:
        return await asyncio.to_thread(self._tones.tones, text)


def abandon_messages(settings: Settings, telephony: Telephony) -> AbandonMessages:
    """How the dialler says the abandon message with the telephony `settings` name: into the
    call's LiveKit room, or to the simulated callee of `telephony` (the `SimTelephony` the
    dialler dials with)."""
    if settings.telephony == "sim":
        if not isinstance(telephony, SimTelephony):
            raise TypeError("the simulated carrier's abandon messages need its SimTelephony")
        return SimAbandonMessages(telephony, OffLoopTones())
    livekit = LiveKitSettings(
        url=settings.livekit_url,
        api_key=settings.livekit_api_key,
        api_secret=settings.livekit_api_secret,
    )
    return LiveKitAbandonMessages(livekit, OffLoopTones())
