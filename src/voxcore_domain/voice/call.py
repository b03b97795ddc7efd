"""One call as a fleet worker runs it: who it is for, what comes in on its media leg, and how it
ended.

Audio on a leg is always the platform's PCM (`voxcore_domain.voice.audio`); each carrier's wire
encoding stays in its adapter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum

import attrs

from voxcore_domain import validators as v
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import STANDALONE, CallOrigin, Disposition

DTMF_DIGITS = re.compile(r"^[0-9*#A-D]$")
"""The sixteen keys of a DTMF keypad."""


def _variables(value: Mapping[str, str]) -> dict[str, str]:
    # A typed converter: with plain `dict`, mypy's attrs plugin cannot match a dict argument.
    return dict(value)


def _standalone(value: object) -> CallOrigin | None:
    if value is None:
        return None
    origin = v.member(CallOrigin, "origin", value)
    if origin not in STANDALONE:
        raise ValidationError("origin", f"{origin.value!r} is not a stand-alone call's origin")
    return origin


@attrs.frozen
class CallSetup:
    """What a pipeline knows of the call it runs."""

    call_id: str = attrs.field(validator=v.non_empty)
    tenant_id: str = attrs.field(validator=v.non_empty)
    campaign_id: str = attrs.field(validator=v.non_empty)
    agent_id: str = attrs.field(validator=v.non_empty)
    """The voice agent configuration that runs the call."""
    lease_token: str | None = None
    """The dialler's lease on the contact; None for an inbound call, which has no lease."""
    variables: Mapping[str, str] = attrs.field(factory=dict, converter=_variables)
    """The contact's values the agent's script may use (name, amount due, …)."""
    origin: CallOrigin | None = attrs.field(default=None, converter=_standalone)
    """`dialout` or `widget` for a stand-alone call the worker started itself, which the API
    records from its reports (its `campaign_id` only files the recording); None for a call
    handed over by `/attach` or a stream, whose attempt the dialler or the API recorded."""


# -- what a media leg delivers ------------------------------------------------------------------


@attrs.frozen
class Audio:
    """Caller audio: signed 16-bit little-endian mono PCM at 8 kHz, any length."""

    pcm: bytes


def _digit(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not DTMF_DIGITS.match(value):
        raise ValidationError(attribute.name, f"{value!r} is not a DTMF key (0-9, *, #, A-D)")


@attrs.frozen
class Digit:
    """The caller pressed a key."""

    digit: str = attrs.field(validator=_digit)


@attrs.frozen
class Played:
    """The far end has played every piece of audio queued before `mark`."""

    mark: str


@attrs.frozen
class Hangup:
    """The leg ended: the caller hung up, or the carrier closed the stream."""

    reason: str


LegEvent = Audio | Digit | Played | Hangup


# -- how a call went ------------------------------------------------------------------------------


class StepKind(StrEnum):
    """What the pipeline noticed or did, for the call's log and the tests."""

    SPEECH_STARTED = "speech_started"
    SPEECH_ENDED = "speech_ended"
    DTMF = "dtmf"
    PROMPT = "prompt"
    """The agent started saying something; `detail` is its mark."""
    BARGE_IN = "barge_in"
    """The caller spoke (or pressed a key) over the agent, which stopped talking."""
    MACHINE = "machine"
    """The callee's greeting was long enough to be an answering machine's."""
    HANGUP = "hangup"
    TRANSFER = "transfer"
    """The agent handed the caller on (`detail`: the target) or tried and failed (`detail`:
    why)."""


@attrs.frozen
class Step:
    """One thing that happened, `at_ms` milliseconds of caller audio into the call."""

    at_ms: int
    kind: StepKind
    detail: str = ""


PIPELINE_DISPOSITIONS = frozenset(
    {
        Disposition.COMPLETED,
        Disposition.VOICEMAIL,
        Disposition.TRANSFERRED,
        Disposition.HUNG_UP,
        Disposition.FAILED,
    }
)
"""How a call that reached a worker can end; the others (busy, no answer, …) end a dial."""


def _pipeline_disposition(
    _: object, attribute: attrs.Attribute[Disposition], value: object
) -> None:
    if value not in PIPELINE_DISPOSITIONS:
        allowed = ", ".join(sorted(d.value for d in PIPELINE_DISPOSITIONS))
        raise ValidationError(attribute.name, f"{value!r} is not one of {allowed}")


@attrs.frozen
class CallOutcome:
    """How a call ended, and what happened in it."""

    disposition: Disposition = attrs.field(validator=_pipeline_disposition)
    reason: str = ""
    """Why, in words, when the disposition alone does not say (e.g. why a call failed)."""
    digits: str = ""
    """Every key the caller pressed, in order."""
    turns: int = 0
    """Times the caller spoke (or pressed a key) and the agent answered."""
    steps: tuple[Step, ...] = ()

    @classmethod
    def failed(cls, reason: str, steps: tuple[Step, ...] = ()) -> CallOutcome:
        return cls(Disposition.FAILED, reason, steps=steps)


def never_connected(answered: bool) -> Disposition:
    """How a call ends whose agent never reached it (its setup failed). A person who answered
    and never got the agent was abandoned, the regulators' way (answered, not connected within
    2 s): counted in the abandon rate, the number kept from redials as after any abandon. With
    nobody waiting on a phone (a widget caller joins later) it is a failure."""
    return Disposition.ABANDONED if answered else Disposition.FAILED
