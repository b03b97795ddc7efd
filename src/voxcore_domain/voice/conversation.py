"""The scripted agent's turn-taking, as a state machine fed one event at a time.

The agent waits for the callee's first words (or a short silence) before it greets, so a machine
can be told from a person; after that it answers each caller turn with the script's next reply,
stops talking the moment the caller talks over it (barge-in), closes when the script runs out or
the caller stays silent, and leaves a message on a machine. Its clock is the caller's audio,
counted in 20 ms frames.

It says what to do as actions (`Say`, `Clear`, `Finish`); whoever drives it renders prompts to
audio, plays them and reports back with `queued` (how long a prompt lasts) and `played` (the far
end reached its mark).
"""

from __future__ import annotations

from enum import StrEnum

import attrs

from voxcore_domain.errors import ValidationError
from voxcore_domain.model import Disposition
from voxcore_domain.voice.audio import FRAME_MS, frames_for_ms
from voxcore_domain.voice.call import CallOutcome, Step, StepKind
from voxcore_domain.voice.script import Script
from voxcore_domain.voice.turns import Turn, TurnChange, TurnSettings, spoken_frames, step
from voxcore_domain.voice.voicemail import VoicemailRule


def _ms(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not FRAME_MS <= value <= 600_000:
        raise ValidationError(
            attribute.name, f"must be {FRAME_MS} to 600000 milliseconds, got {value!r}"
        )


@attrs.frozen
class ConversationSettings:
    """The timings of a scripted conversation."""

    turns: TurnSettings = attrs.field(factory=TurnSettings)
    voicemail: VoicemailRule = attrs.field(factory=VoicemailRule)
    no_input_ms: int = attrs.field(default=8000, validator=_ms)
    """Silence after the agent finished a prompt before it gives up and closes."""
    mark_grace_ms: int = attrs.field(default=2000, validator=_ms)
    """How long after a prompt should have finished playing its mark may stay unconfirmed
    before it counts as played: a carrier that never echoes marks must not hang the call."""


@attrs.frozen
class Say:
    """Render `text`, queue it on the leg and follow it with `mark`."""

    text: str
    mark: str


@attrs.frozen
class Clear:
    """Drop the audio queued on the leg: the caller is talking over it."""


@attrs.frozen
class Finish:
    """The conversation is over; hang up unless the caller already has."""

    outcome: CallOutcome


@attrs.frozen
class Transfer:
    """Hand the caller to `to`; report back with `Conversation.transferred`."""

    to: str


Action = Say | Clear | Finish | Transfer


class Phase(StrEnum):
    ANSWER = "answer"
    """Waiting for the callee's first words, or a short silence, before greeting."""
    TALKING = "talking"
    """A prompt is queued or playing."""
    LISTENING = "listening"
    """The agent is quiet; the caller's turn."""
    MACHINE = "machine"
    """A machine's greeting is playing; waiting for it to end."""
    MESSAGE = "message"
    """The agent's voicemail message is playing."""
    CLOSING = "closing"
    """The goodbye is playing; nothing the caller does changes the end now."""
    HANDOFF = "handoff"
    """The transfer prompt is playing; the transfer starts once it has played."""
    TRANSFERRING = "transferring"
    """The transfer is under way; the caller waits for its result."""
    DONE = "done"


class Conversation:
    """One scripted conversation; feed it with `frame`, `digit`, `played`, `hangup`."""

    def __init__(self, script: Script, settings: ConversationSettings | None = None) -> None:
        self._script = script
        self._settings = settings or ConversationSettings()
        self._turn = Turn()
        self._phase = Phase.ANSWER
        self._position = 0
        """Frames of caller audio so far: the conversation's clock."""
        self._pending: dict[str, int | None] = {}
        """Marks not yet played, with the frame their audio should end at once it is queued."""
        self._playout_end = 0
        self._quiet_listening = 0
        """Frames the agent has listened without the caller talking."""
        self._replies = 0
        self._prompts = 0
        self._turns = 0
        self._digits = ""
        self._steps: list[Step] = []
        self._grace = frames_for_ms(self._settings.mark_grace_ms)
        self._no_input = frames_for_ms(self._settings.no_input_ms)

    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def finished(self) -> bool:
        return self._phase is Phase.DONE

    # -- inputs ---------------------------------------------------------------------------------

    def frame(self, level_dbfs: float) -> list[Action]:
        """One 20 ms frame of caller audio at `level_dbfs`."""
        if self.finished:
            return []
        self._position += 1
        self._turn, change = step(self._settings.turns, self._turn, level_dbfs)
        actions: list[Action] = []
        if change is TurnChange.SPEECH_STARTED:
            started = self._position - self._turn.speech_frames
            self._log(StepKind.SPEECH_STARTED, at=started)
            actions += self._speech_started()
        elif change is TurnChange.SPEECH_ENDED:
            self._log(StepKind.SPEECH_ENDED)
            actions += self._speech_ended()
        if self._phase is Phase.ANSWER:
            actions += self._answering()
        elif self._phase is Phase.LISTENING:
            actions += self._listening()
        actions += self._expire_marks()
        return actions

    def digit(self, digit: str) -> list[Action]:
        """The caller pressed `digit`: it counts as their turn, like an answer."""
        if self.finished:
            return []
        self._digits += digit
        self._log(StepKind.DTMF, digit)
        if self._wants_person(digit):
            barge = self._barge_in() if self._phase is Phase.TALKING else []
            self._turns += 1
            return [*barge, *self._hand_off()]
        if self._phase is Phase.ANSWER:
            # Only a person presses keys: greet them, as after a short "hello".
            return self._say_greeting()
        if self._phase is Phase.TALKING:
            return [*self._barge_in(), *self._reply()]
        if self._phase is Phase.LISTENING:
            return self._reply()
        return []

    def queued(self, mark: str, frames: int) -> None:
        """The prompt before `mark` is on the leg and lasts `frames` frames."""
        if mark in self._pending:
            self._playout_end = max(self._position, self._playout_end) + frames
            self._pending[mark] = self._playout_end

    def played(self, mark: str) -> list[Action]:
        """The far end played everything up to `mark`. Marks of cleared audio (Twilio echoes
        them on `clear`) and unknown ones change nothing."""
        if self.finished or mark not in self._pending:
            return []
        del self._pending[mark]
        return [] if self._pending else self._playout_done()

    def transferred(self, completed: bool, detail: str) -> list[Action]:
        """The transfer asked for ended: `completed` (the caller is with `detail`, the target)
        or failed for the reason `detail`; then the agent says so and the conversation goes
        on."""
        if self._phase is not Phase.TRANSFERRING:
            return []
        self._log(StepKind.TRANSFER, detail)
        if completed:
            return self._finish(Disposition.TRANSFERRED, f"transferred to {detail}")
        self._phase = Phase.TALKING
        return [self._say("transfer-failed", self._script.transfer_failed)]

    def hangup(self, reason: str) -> list[Action]:
        """The leg ended."""
        if self.finished:
            return []
        self._log(StepKind.HANGUP, reason)
        if self._phase is Phase.CLOSING:
            return self._finish(Disposition.COMPLETED, "the caller hung up during the goodbye")
        if self._phase in (Phase.MACHINE, Phase.MESSAGE):
            return self._finish(Disposition.VOICEMAIL, "the machine hung up")
        return self._finish(Disposition.HUNG_UP, reason)

    # -- rules ------------------------------------------------------------------------------------

    def _speech_started(self) -> list[Action]:
        self._quiet_listening = 0
        if self._phase is Phase.TALKING:
            self._phase = Phase.LISTENING
            return self._barge_in()
        return []

    def _speech_ended(self) -> list[Action]:
        if self._phase is Phase.ANSWER:
            return self._say_greeting()
        if self._phase is Phase.MACHINE and self._script.voicemail is not None:
            self._phase = Phase.MESSAGE
            return [self._say("voicemail", self._script.voicemail)]
        if self._phase is Phase.LISTENING:
            return self._reply()
        return []

    def _answering(self) -> list[Action]:
        rule = self._settings.voicemail
        if self._turn.speaking:
            if rule.is_machine(spoken_frames(self._turn)):
                self._log(StepKind.MACHINE)
                if self._script.voicemail is None:
                    return self._finish(Disposition.VOICEMAIL, "a machine answered")
                self._phase = Phase.MACHINE
            return []
        if self._position >= rule.answer_wait_frames:
            return self._say_greeting()
        return []

    def _listening(self) -> list[Action]:
        if self._turn.speaking:
            return []
        self._quiet_listening += 1
        if self._quiet_listening >= self._no_input:
            self._phase = Phase.CLOSING
            return [self._say("closing", self._script.closing)]
        return []

    def _barge_in(self) -> list[Action]:
        self._pending.clear()
        self._playout_end = self._position
        self._log(StepKind.BARGE_IN)
        return [Clear()]

    def _reply(self) -> list[Action]:
        self._turns += 1
        if self._replies < len(self._script.replies):
            text = self._script.replies[self._replies]
            self._replies += 1
            self._phase = Phase.TALKING
            return [self._say("reply", text)]
        if self._script.transfer_at_end and self._script.transfer_to is not None:
            return self._hand_off()
        self._phase = Phase.CLOSING
        return [self._say("closing", self._script.closing)]

    def _wants_person(self, digit: str) -> bool:
        return (
            self._script.transfer_to is not None
            and digit == self._script.transfer_digit
            and self._phase in (Phase.ANSWER, Phase.TALKING, Phase.LISTENING)
        )

    def _hand_off(self) -> list[Action]:
        self._phase = Phase.HANDOFF
        return [self._say("transfer", self._script.transfer_prompt)]

    def _say_greeting(self) -> list[Action]:
        self._phase = Phase.TALKING
        return [self._say("greeting", self._script.greeting)]

    def _say(self, kind: str, text: str) -> Say:
        self._prompts += 1
        mark = f"{kind}-{self._prompts}"
        self._pending[mark] = None
        self._log(StepKind.PROMPT, mark)
        return Say(text, mark)

    def _expire_marks(self) -> list[Action]:
        overdue = [
            mark
            for mark, end in self._pending.items()
            if end is not None and self._position >= end + self._grace
        ]
        actions: list[Action] = []
        for mark in overdue:
            actions += self.played(mark)
        return actions

    def _playout_done(self) -> list[Action]:
        if self._phase is Phase.TALKING:
            self._phase = Phase.LISTENING
            self._quiet_listening = 0
            return []
        if self._phase is Phase.MESSAGE:
            return self._finish(Disposition.VOICEMAIL, "left a message on the machine")
        if self._phase is Phase.CLOSING:
            return self._finish(Disposition.COMPLETED)
        if self._phase is Phase.HANDOFF and self._script.transfer_to is not None:
            self._phase = Phase.TRANSFERRING
            return [Transfer(self._script.transfer_to)]
        return []

    def _finish(self, disposition: Disposition, reason: str = "") -> list[Action]:
        self._phase = Phase.DONE
        self._pending.clear()
        outcome = CallOutcome(disposition, reason, self._digits, self._turns, tuple(self._steps))
        return [Finish(outcome)]

    def _log(self, kind: StepKind, detail: str = "", at: int | None = None) -> None:
        frame = self._position if at is None else at
        self._steps.append(Step(frame * FRAME_MS, kind, detail))
