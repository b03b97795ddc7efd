"""The abandon message in a LiveKit room: the `AbandonMessages` port over the RTC SDK.

When no worker takes an answered call within the abandon budget, the dialler says the
campaign's short message into the call and hangs up. Here that is: render the campaign's text
with a `SpeechSynth` (8 kHz mono PCM), cut it into 20 ms frames (`TelephoneAudio.outgoing`, as
the worker's room leg does), join the call's room as a participant of its own
(`abandon-<call id>`, with an agent token for that one room), publish the frames, wait until
they have played, and leave. The dialler then ends the call by deleting the room
(`Telephony.hang_up`), which drops the callee's phone leg.

Every step is bounded: the join by `connect_timeout_s`, the playout by the message's own length
plus `playout_margin_s`, the leave by `leave_timeout_s`. A message that cannot be played raises
`TelephonyError`, which the dialler logs and counts (`vox_dialler_abandon_messages{result=
"failed"}`) before hanging up anyway. All of it runs in the call's own dial task, never in the
tick.

**Not tested here:** `publish_voice` (the WebRTC join and the audio actually reaching the
callee) needs a LiveKit server, which cannot run on this machine; its tests cover only the
failure to connect. Everything around it (the text chosen and rendered, the frames' rate and
length, the capture, the playout wait, the leave, timeouts and errors) is tested through a
recorded `RoomOutput` in its place.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Protocol

from voxcore_adapters.livekit.outcomes import check_text
from voxcore_adapters.livekit.room_leg import (
    RoomJoinFailed,
    RoomOutput,
    TelephoneAudio,
    publish_voice,
)
from voxcore_adapters.livekit.settings import LiveKitSettings
from voxcore_adapters.livekit.tokens import agent_token
from voxcore_domain.errors import ValidationError
from voxcore_domain.ports import SpeechSynth, TelephonyError
from voxcore_domain.voice.audio import FRAME_MS

log = logging.getLogger(__name__)

TOKEN_TTL = timedelta(minutes=5)
"""Far longer than any abandon message; the token grants one room only."""


def abandon_identity(call_id: str) -> str:
    return f"abandon-{call_id}"


class VoicePublisher(Protocol):
    """`publish_voice`'s signature: join a room to speak in it."""

    async def __call__(
        self, url: str, token: str, *, connect_timeout_s: float = 10.0
    ) -> RoomOutput: ...


class LiveKitAbandonMessages:
    """`AbandonMessages` for calls whose media is a LiveKit room."""

    def __init__(
        self,
        settings: LiveKitSettings,
        synth: SpeechSynth,
        *,
        publish: VoicePublisher = publish_voice,
        connect_timeout_s: float = 5.0,
        playout_margin_s: float = 2.0,
        leave_timeout_s: float = 2.0,
    ) -> None:
        self._settings = settings
        self._synth = synth
        self._publish = publish
        self._connect_timeout_s = connect_timeout_s
        self._playout_margin_s = playout_margin_s
        self._leave_timeout_s = leave_timeout_s

    async def play(self, call_id: str, room: str, text: str) -> None:
        check_text("call_id", call_id, 128)
        check_text("room", room)
        if not text.strip():
            raise ValidationError("text", "must not be empty")
        frames = TelephoneAudio.outgoing(await self._synth.render(text))
        playout_s = len(frames) * FRAME_MS / 1000 + self._playout_margin_s
        token = agent_token(
            self._settings.api_key,
            self._settings.api_secret,
            room,
            abandon_identity(call_id),
            ttl=TOKEN_TTL,
        )
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                output = await self._publish(
                    self._settings.url, token, connect_timeout_s=self._connect_timeout_s
                )
        except TimeoutError:
            raise TelephonyError(
                f"call {call_id}: could not join room {room} within {self._connect_timeout_s:g} s"
            ) from None
        except RoomJoinFailed as error:
            raise TelephonyError(f"call {call_id}: {error}") from error
        try:
            async with asyncio.timeout(playout_s):
                for frame in frames:
                    await output.capture(frame)
                await output.wait_for_playout()
        except TimeoutError:
            raise TelephonyError(
                f"call {call_id}: the abandon message did not play within {playout_s:g} s"
            ) from None
        finally:
            await self._leave(call_id, output)
        log.info("call %s: abandon message played (%d frames)", call_id, len(frames))

    async def _leave(self, call_id: str, output: RoomOutput) -> None:
        # The dialler deletes the room next, which disconnects this participant too: a failed
        # leave is worth a warning, not a failed message.
        try:
            async with asyncio.timeout(self._leave_timeout_s):
                await output.leave()
        except Exception as error:
            log.warning("call %s: could not leave the room after its message: %r", call_id, error)
