"""The default call pipeline: a deterministic scripted agent.

It drives `voxcore_domain.voice.conversation` with the leg's events (caller audio cut into
20 ms frames and measured, key presses, played marks, the hang-up) and carries out what the
conversation decides: render a prompt and play it, clear the far end's audio on barge-in, hang
up at the end. Given the same caller audio it says the same things at the same moments.
"""

from __future__ import annotations

from voxcore_domain.model import Disposition
from voxcore_domain.ports import CallLeg, SpeechSynth
from voxcore_domain.voice.audio import FRAME_BYTES, Framer, level_dbfs
from voxcore_domain.voice.call import Audio, CallOutcome, CallSetup, Digit, Hangup, Played
from voxcore_domain.voice.conversation import (
    Action,
    Clear,
    Conversation,
    ConversationSettings,
    Finish,
    Say,
)
from voxcore_domain.voice.script import Script


class ScriptedAgent:
    """`CallPipeline` that follows `script`, speaking through `synth`."""

    def __init__(
        self, script: Script, synth: SpeechSynth, settings: ConversationSettings | None = None
    ) -> None:
        self._script = script
        self._synth = synth
        self._settings = settings or ConversationSettings()

    async def run(self, call: CallSetup, leg: CallLeg) -> CallOutcome:
        conversation = Conversation(self._script.render(call.variables), self._settings)
        framer = Framer()
        actions: list[Action] = []
        while True:
            for action in actions:
                if isinstance(action, Say):
                    pcm = await self._synth.render(action.text)
                    await leg.play(pcm, action.mark)
                    conversation.queued(action.mark, -(-len(pcm) // FRAME_BYTES))
                elif isinstance(action, Clear):
                    await leg.clear()
                elif isinstance(action, Finish):
                    if action.outcome.disposition is not Disposition.HUNG_UP:
                        await leg.hang_up()
                    return action.outcome
            event = await leg.receive()
            if isinstance(event, Audio):
                actions = []
                for frame in framer.push(event.pcm):
                    actions += conversation.frame(level_dbfs(frame))
            elif isinstance(event, Digit):
                actions = conversation.digit(event.digit)
            elif isinstance(event, Played):
                actions = conversation.played(event.mark)
            elif isinstance(event, Hangup):
                actions = conversation.hangup(event.reason)
