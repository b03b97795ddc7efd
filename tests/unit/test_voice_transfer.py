"""Transfers in the scripted conversation: the caller asks for a person (a key) or the script's
last step hands them on; a completed transfer ends the call as transferred, a failed one is said
out loud and the conversation goes on."""

from __future__ import annotations

import attrs
import pytest

from tests.unit.test_voice_conversation import LOUD, QUIET, SCRIPT, Driver
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import Disposition
from voxcore_domain.voice.call import StepKind
from voxcore_domain.voice.conversation import Action, Phase, Transfer
from voxcore_domain.voice.script import Script

DESK = "+14155550199"
TRANSFERRING = attrs.evolve(SCRIPT, transfer_to=DESK)


class TransferDriver(Driver):
    """A `Driver` that also keeps the transfers asked for."""

    def __init__(self, script: Script = TRANSFERRING, frames: int = 10) -> None:
        super().__init__(script, frames)
        self.transfers: list[Transfer] = []

    def apply(self, actions: list[Action]) -> None:
        self.transfers += [action for action in actions if isinstance(action, Transfer)]
        super().apply(actions)


def greeted(call: TransferDriver) -> None:
    call.audio(QUIET, 20)
    assert call.texts == ["Hello there."]


def test_pressing_zero_over_the_agent_stops_it_and_transfers_after_the_hold_prompt() -> None:
    call = TransferDriver()
    greeted(call)
    call.apply(call.conversation.digit("0"))
    assert call.clears == 1
    assert call.texts[-1] == "Please hold while I transfer you."
    assert call.phase() is Phase.HANDOFF
    assert call.transfers == []
    call.audio(LOUD, 10)  # talking over the hold prompt does not stop it
    assert call.clears == 1
    call.play_out()
    assert call.transfers == [Transfer(DESK)]
    assert call.phase() is Phase.TRANSFERRING
    call.apply(call.conversation.transferred(True, DESK))
    outcome = call.outcome.outcome
    assert outcome.disposition is Disposition.TRANSFERRED
    assert outcome.reason == f"transferred to {DESK}"
    assert outcome.digits == "0"
    assert [(s.kind, s.detail) for s in outcome.steps if s.kind is StepKind.TRANSFER] == [
        (StepKind.TRANSFER, DESK)
    ]


def test_a_failed_transfer_is_said_and_the_conversation_goes_on() -> None:
    call = TransferDriver()
    greeted(call)
    call.play_out()
    call.apply(call.conversation.digit("0"))
    call.play_out()
    call.apply(call.conversation.transferred(False, "busy (SIP 486)"))
    assert call.texts[-1] == "I am sorry, I could not transfer you. Let us continue."
    assert call.phase() is Phase.TALKING
    call.play_out()
    assert call.phase() is Phase.LISTENING
    call.audio(LOUD, 15)
    call.audio(QUIET, 10)
    assert call.texts[-1] == "First reply."
    call.apply(call.conversation.hangup("the caller left the room"))
    outcome = call.outcome.outcome
    assert outcome.disposition is Disposition.HUNG_UP
    assert (StepKind.TRANSFER, "busy (SIP 486)") in [(s.kind, s.detail) for s in outcome.steps]


def test_the_scripts_transfer_step_replaces_the_goodbye() -> None:
    call = TransferDriver(attrs.evolve(TRANSFERRING, transfer_at_end=True, replies=("Noted.",)))
    greeted(call)
    call.play_out()
    call.apply(call.conversation.digit("5"))
    assert call.texts[-1] == "Noted."
    call.play_out()
    call.apply(call.conversation.digit("5"))
    assert call.texts[-1] == "Please hold while I transfer you."
    call.play_out()
    assert call.transfers == [Transfer(DESK)]


def test_without_a_target_zero_is_an_ordinary_answer() -> None:
    call = TransferDriver(SCRIPT)
    greeted(call)
    call.play_out()
    call.apply(call.conversation.digit("0"))
    assert call.texts[-1] == "First reply."
    assert call.transfers == []


def test_another_key_can_ask_for_a_person() -> None:
    call = TransferDriver(attrs.evolve(TRANSFERRING, transfer_digit="#"))
    greeted(call)
    call.play_out()
    call.apply(call.conversation.digit("0"))
    assert call.texts[-1] == "First reply."
    call.play_out()
    call.apply(call.conversation.digit("#"))
    assert call.texts[-1] == "Please hold while I transfer you."


def test_hanging_up_while_on_hold_is_a_hang_up() -> None:
    call = TransferDriver()
    greeted(call)
    call.apply(call.conversation.digit("0"))
    call.play_out()
    call.apply(call.conversation.hangup("the caller hung up"))
    assert call.outcome.outcome.disposition is Disposition.HUNG_UP
    assert call.conversation.transferred(True, DESK) == []


def test_a_transfer_result_nobody_asked_for_changes_nothing() -> None:
    call = TransferDriver()
    greeted(call)
    assert call.conversation.transferred(True, DESK) == []
    assert call.phase() is Phase.TALKING


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"transfer_to": "12345"}, "transfer_to"),
        ({"transfer_to": "sip:nobody"}, "transfer_to"),
        ({"transfer_digit": "x"}, "transfer_digit"),
        ({"transfer_prompt": "{name}"}, "transfer_prompt"),
    ],
)
def test_a_bad_transfer_setting_is_refused_naming_it(changes: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Script(**changes)  # type: ignore[arg-type]
    assert refused.value.field == field


def test_rendering_fills_the_transfer_prompts_and_keeps_the_target() -> None:
    script = Script(
        transfer_to="sip:desk@pbx.example.com",
        transfer_prompt="Hold on {name}.",
        transfer_failed="Sorry {name}.",
    ).render({"name": "Ann"})
    assert (script.transfer_prompt, script.transfer_failed) == ("Hold on Ann.", "Sorry Ann.")
    assert script.transfer_to == "sip:desk@pbx.example.com"
