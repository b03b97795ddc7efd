"""The scripted agent's turn-taking, frame by frame."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from voxcore_domain.model import Disposition
from voxcore_domain.voice.call import StepKind
from voxcore_domain.voice.conversation import (
    Action,
    Clear,
    Conversation,
    ConversationSettings,
    Finish,
    Phase,
    Say,
)
from voxcore_domain.voice.script import Script
from voxcore_domain.voice.turns import TurnSettings
from voxcore_domain.voice.voicemail import VoicemailRule

LOUD = -20.0
QUIET = -80.0
SETTINGS = ConversationSettings(
    turns=TurnSettings(start_ms=60, end_ms=200),
    voicemail=VoicemailRule(greeting_limit_ms=1000, answer_wait_ms=400),
    no_input_ms=1000,
    mark_grace_ms=200,
)
SCRIPT = Script(
    greeting="Hello there.",
    replies=("First reply.", "Second reply."),
    closing="Goodbye.",
    voicemail="Please call back.",
)


class Driver:
    """Plays the far end: queues each prompt as `frames` long and reports marks on request."""

    def __init__(self, script: Script = SCRIPT, frames: int = 10) -> None:
        self.conversation = Conversation(script, SETTINGS)
        self.frames = frames
        self.said: list[Say] = []
        self.unplayed: set[str] = set()
        """Marks queued and neither played nor cleared."""
        self.clears = 0
        self.finished: Finish | None = None

    def apply(self, actions: list[Action]) -> None:
        for action in actions:
            assert self.finished is None, "an action after the end"
            if isinstance(action, Say):
                self.said.append(action)
                self.unplayed.add(action.mark)
                self.conversation.queued(action.mark, self.frames)
            elif isinstance(action, Clear):
                assert self.unplayed, "a clear with nothing queued"
                self.unplayed.clear()
                self.clears += 1
            elif isinstance(action, Finish):
                self.finished = action

    def audio(self, level: float, frames: int) -> None:
        for _ in range(frames):
            self.apply(self.conversation.frame(level))

    def play_out(self) -> None:
        """The far end finishes playing the last prompt."""
        self.unplayed.discard(self.said[-1].mark)
        self.apply(self.conversation.played(self.said[-1].mark))

    def phase(self) -> Phase:
        return self.conversation.phase

    @property
    def texts(self) -> list[str]:
        return [say.text for say in self.said]

    @property
    def outcome(self) -> Finish:
        assert self.finished is not None
        return self.finished


def test_a_short_hello_is_a_person_who_gets_the_greeting_when_they_stop() -> None:
    call = Driver()
    call.audio(LOUD, 20)
    assert call.said == []
    call.audio(QUIET, 10)
    assert call.texts == ["Hello there."]
    assert call.phase() is Phase.TALKING


def test_silence_after_the_answer_gets_the_greeting_after_the_wait() -> None:
    call = Driver()
    call.audio(QUIET, 19)
    assert call.said == []
    call.audio(QUIET, 1)
    assert call.texts == ["Hello there."]


def test_a_full_conversation_ends_completed_with_its_turns_and_digits() -> None:
    call = Driver()
    call.audio(QUIET, 20)
    call.play_out()
    call.audio(LOUD, 15)
    call.audio(QUIET, 10)
    assert call.texts[-1] == "First reply."
    call.play_out()
    call.apply(call.conversation.digit("7"))
    assert call.texts[-1] == "Second reply."
    call.play_out()
    call.audio(LOUD, 10)
    call.audio(QUIET, 10)
    assert call.texts[-1] == "Goodbye."
    assert call.phase() is Phase.CLOSING
    call.audio(LOUD, 10)  # no barge-in on the goodbye
    assert call.clears == 0
    call.play_out()
    outcome = call.outcome.outcome
    assert outcome.disposition is Disposition.COMPLETED
    assert (outcome.turns, outcome.digits) == (3, "7")
    assert [step.kind for step in outcome.steps].count(StepKind.PROMPT) == 4


def test_talking_over_the_agent_clears_its_audio_and_the_reply_waits_for_the_end() -> None:
    call = Driver(frames=100)
    call.audio(QUIET, 20)
    call.audio(QUIET, 5)
    call.audio(LOUD, 3)
    assert call.clears == 1
    assert call.phase() is Phase.LISTENING
    call.audio(LOUD, 20)
    assert call.texts == ["Hello there."]
    call.audio(QUIET, 10)
    assert call.texts == ["Hello there.", "First reply."]
    # Twilio sends the cleared greeting's mark back: it changes nothing.
    call.apply(call.conversation.played(call.said[0].mark))
    assert call.phase() is Phase.TALKING
    call.apply(call.conversation.hangup("bye"))
    assert StepKind.BARGE_IN in [step.kind for step in call.outcome.outcome.steps]


def test_a_key_pressed_over_the_agent_clears_and_answers() -> None:
    call = Driver(frames=100)
    call.audio(QUIET, 20)
    call.apply(call.conversation.digit("#"))
    assert call.clears == 1
    assert call.texts == ["Hello there.", "First reply."]


def test_a_long_greeting_is_a_machine_that_gets_the_message_after_it() -> None:
    call = Driver()
    call.audio(LOUD, 60)
    assert call.phase() is Phase.MACHINE
    call.audio(LOUD, 40)
    call.audio(QUIET, 10)
    assert call.texts == ["Please call back."]
    call.play_out()
    assert call.outcome.outcome.disposition is Disposition.VOICEMAIL


def test_without_a_message_a_machine_ends_the_call_at_once() -> None:
    call = Driver(Script(greeting="Hi.", voicemail=None))
    call.audio(LOUD, 60)
    assert call.said == []
    assert call.outcome.outcome.disposition is Disposition.VOICEMAIL


def test_a_silent_caller_is_closed_after_the_no_input_time() -> None:
    call = Driver()
    call.audio(QUIET, 20)
    call.play_out()
    call.audio(QUIET, 49)
    assert call.texts == ["Hello there."]
    call.audio(QUIET, 1)
    assert call.texts[-1] == "Goodbye."


def test_marks_a_carrier_never_sends_back_count_as_played_after_the_grace() -> None:
    call = Driver(frames=10)
    call.audio(QUIET, 20)
    assert call.phase() is Phase.TALKING
    call.audio(QUIET, 19)
    assert call.phase() is Phase.TALKING
    call.audio(QUIET, 1)
    assert call.phase() is Phase.LISTENING


def test_hanging_up_ends_as_hung_up_except_during_the_goodbye() -> None:
    call = Driver()
    call.audio(QUIET, 20)
    call.apply(call.conversation.hangup("the carrier stopped the stream"))
    assert call.outcome.outcome.disposition is Disposition.HUNG_UP
    assert call.outcome.outcome.reason == "the carrier stopped the stream"

    closing = Driver(Script(greeting="Hi.", replies=(), closing="Goodbye."))
    closing.audio(QUIET, 20)
    closing.apply(closing.conversation.digit("1"))
    assert closing.texts[-1] == "Goodbye."
    closing.apply(closing.conversation.hangup("bye"))
    assert closing.outcome.outcome.disposition is Disposition.COMPLETED


inputs = st.one_of(
    st.tuples(st.just("audio"), st.sampled_from([LOUD, QUIET]), st.integers(1, 30)),
    st.tuples(st.just("digit"), st.sampled_from("0123456789*#"), st.just(0)),
    st.tuples(st.just("played"), st.just(""), st.just(0)),
)


@settings(max_examples=200)
@given(st.lists(inputs, max_size=40))
def test_any_call_ends_once_and_clears_only_what_it_queued(
    steps: list[tuple[str, object, int]],
) -> None:
    call = Driver(frames=15)
    for kind, value, count in steps:
        if call.finished is not None:
            break
        if kind == "audio":
            assert isinstance(value, float)
            call.audio(value, count)
        elif kind == "digit":
            assert isinstance(value, str)
            call.apply(call.conversation.digit(value))
        elif call.said:
            call.play_out()
    if call.finished is None:
        call.apply(call.conversation.hangup("bye"))
    outcome = call.outcome.outcome
    assert outcome.disposition in (
        Disposition.COMPLETED,
        Disposition.HUNG_UP,
        Disposition.VOICEMAIL,
    )
    marks = [say.mark for say in call.said]
    assert len(marks) == len(set(marks))
    assert call.conversation.hangup("again") == []
    assert call.conversation.frame(LOUD) == []
