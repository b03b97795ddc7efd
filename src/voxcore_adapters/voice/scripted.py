"""The default call pipeline: a deterministic scripted agent.

It drives `voxcore_domain.voice.conversation` with the leg's events (caller audio cut into
20 ms frames and measured, key presses, played marks, the hang-up) and carries out what the
conversation decides: render a prompt and play it, clear the far end's audio on barge-in,
transfer the caller when the leg can (`TransferringLeg`: a LiveKit room's phone leg), hang up
at the end. Given the same caller audio it says the same things at the same moments.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from voxcore_domain.errors import DomainError
from voxcore_domain.model import Disposition
from voxcore_domain.ports import CallLeg, SpeechSynth, TransferringLeg
from voxcore_domain.voice.audio import FRAME_BYTES, Framer, level_dbfs
from voxcore_domain.voice.call import Audio, CallOutcome, CallSetup, Digit, Hangup, Played
from voxcore_domain.voice.conversation import (
    Action,
    Clear,
    Conversation,
    ConversationSettings,
    Finish,
    Say,
    Transfer,
)
from voxcore_domain.voice.script import Script

log = logging.getLogger(__name__)


class ScriptedAgent:
    """`CallPipeline` that follows `script`, speaking through `synth`."""

    def __init__(
        self, script: Script, synth: SpeechSynth, settings: ConversationSettings | None = None
    ) -> None:
        self._script = script
        self._synth = synth
        self._settings = settings or ConversationSettings()

    async def run(self, call: CallSetup, leg: CallLeg) -> CallOutcome:
        script = self._script.render(call.variables)
        # The greeting is synthesized while the callee says hello: the synthesizer's time is
        # then off the path to the call's first audio. (A machine's call may never use it.)
        greeting = asyncio.ensure_future(self._synth.render(script.greeting))
        try:
            return await self._converse(
                call, leg, Conversation(script, self._settings), (script.greeting, greeting)
            )
        finally:
            greeting.cancel()
            # An unused render's failure is not the call's: retrieved here, not raised.
            await asyncio.gather(greeting, return_exceptions=True)

    async def _converse(
        self,
        call: CallSetup,
        leg: CallLeg,
        conversation: Conversation,
        greeting: tuple[str, asyncio.Future[bytes]],
    ) -> CallOutcome:
        framer = Framer()
        actions: deque[Action] = deque()
        while True:
            while actions:
                action = actions.popleft()
                if isinstance(action, Say):
                    if action.text == greeting[0]:
                        pcm = await greeting[1]
                    else:
                        pcm = await self._synth.render(action.text)
                    await leg.play(pcm, action.mark)
                    conversation.queued(action.mark, -(-len(pcm) // FRAME_BYTES))
                elif isinstance(action, Clear):
                    await leg.clear()
                elif isinstance(action, Transfer):
                    completed, detail = await _transfer(call, leg, action.to)
                    actions.extend(conversation.transferred(completed, detail))
                elif isinstance(action, Finish):
                    if action.outcome.disposition is not Disposition.HUNG_UP:
                        await leg.hang_up()
                    return action.outcome
            event = await leg.receive()
            if isinstance(event, Audio):
                for frame in framer.push(event.pcm):
                    actions.extend(conversation.frame(level_dbfs(frame)))
            elif isinstance(event, Digit):
                actions.extend(conversation.digit(event.digit))
            elif isinstance(event, Played):
                actions.extend(conversation.played(event.mark))
            elif isinstance(event, Hangup):
                actions.extend(conversation.hangup(event.reason))


async def _transfer(call: CallSetup, leg: CallLeg, to: str) -> tuple[bool, str]:
    """(completed, the target or why not)."""
    if not (isinstance(leg, TransferringLeg) and leg.can_transfer):
        return False, "this call's leg cannot be transferred"
    try:
        result = await leg.transfer(to)
    except DomainError as error:
        # The provider refused or lost the call's leg: the caller hears that the transfer
        # failed, and the reason stays in the call's steps.
        log.warning("call %s: transfer to %s failed: %s", call.call_id, to, error)
        return False, str(error)
    if result.completed:
        return True, to
    failure = result.failure.value if result.failure is not None else "failed"
    status = f" (SIP {result.sip_status})" if result.sip_status else ""
    return False, f"{failure}{status}"
