"""A simple answering-machine heuristic: people answer short, machines answer long.

A person picks up with "Hello?" or their name and waits, about one second of speech; a
voicemail greeting talks on for several seconds ("Hi, you've reached Sam, I can't come to the
phone…"). So the first utterance after the answer decides: longer than the limit is a machine.
It errs toward "person" for terse greetings, which is the safe side: a person taken for a machine
gets a recorded message instead of a conversation, and the rules count that as an abandon.
"""

from __future__ import annotations

import attrs

from voxcore_domain.errors import ValidationError
from voxcore_domain.voice.audio import FRAME_MS, frames_for_ms


def _positive_ms(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not FRAME_MS <= value <= 60_000:
        raise ValidationError(
            attribute.name, f"must be {FRAME_MS} to 60000 milliseconds, got {value!r}"
        )


@attrs.frozen
class VoicemailRule:
    """When the first utterance after the answer means a machine answered."""

    greeting_limit_ms: int = attrs.field(default=3500, validator=_positive_ms)
    """A first utterance longer than this is a machine's greeting. Field studies of AMD put
    human greetings under 2 s and machine greetings over 4 s; 3.5 s sits between them."""
    answer_wait_ms: int = attrs.field(default=2000, validator=_positive_ms)
    """How long to wait for the callee's first words before the agent speaks anyway."""

    @property
    def greeting_limit_frames(self) -> int:
        return frames_for_ms(self.greeting_limit_ms)

    @property
    def answer_wait_frames(self) -> int:
        return frames_for_ms(self.answer_wait_ms)

    def is_machine(self, first_utterance_frames: int) -> bool:
        """Whether a first utterance this long (so far) is a machine's greeting."""
        return first_utterance_frames > self.greeting_limit_frames
