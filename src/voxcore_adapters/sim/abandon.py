"""The abandon message on the simulated carrier: the `AbandonMessages` port over `SimTelephony`.

As with LiveKit (`voxcore_adapters.livekit.abandon`), the campaign's text is rendered by a
`SpeechSynth` (the dialler passes the scripted agent's tone synth, rendered off the loop) into
8 kHz mono PCM; here it is said straight to the simulated callee over its call leg
(`SimTelephony.speak`), in real time, and returns once the callee has heard all of it. What the
callee heard (frames, length, whole or cut short) is kept in `SimTelephony.heard`. The playout
is bounded by the message's length plus `playout_margin_s`; a call that is not up, or ends
during the message, is a `TelephonyError`, which the dialler counts as a failed message before
it hangs up anyway.
"""

from __future__ import annotations

import asyncio
import logging

from voxcore_adapters.livekit.outcomes import check_text
from voxcore_adapters.sim.telephony import SimTelephony
from voxcore_domain.errors import ValidationError
from voxcore_domain.ports import SpeechSynth, TelephonyError
from voxcore_domain.voice.audio import FRAME_BYTES, FRAME_MS

log = logging.getLogger(__name__)


class SimAbandonMessages:
    """`AbandonMessages` for calls on the simulated carrier."""

    def __init__(
        self, carrier: SimTelephony, synth: SpeechSynth, *, playout_margin_s: float = 2.0
    ) -> None:
        self._carrier = carrier
        self._synth = synth
        self._playout_margin_s = playout_margin_s

    async def play(self, call_id: str, room: str, text: str) -> None:
        check_text("call_id", call_id, 128)
        check_text("room", room)
        if not text.strip():
            raise ValidationError("text", "must not be empty")
        pcm = await self._synth.render(text)
        frames = -(-len(pcm) // FRAME_BYTES)
        playout_s = frames * FRAME_MS / 1000 + self._playout_margin_s
        try:
            async with asyncio.timeout(playout_s):
                heard = await self._carrier.speak(call_id, room, pcm)
        except TimeoutError:
            raise TelephonyError(
                f"call {call_id}: the abandon message did not play within {playout_s:g} s"
            ) from None
        log.info("call %s: abandon message played (%d ms)", call_id, heard.ms)
