"""The answering-machine heuristic."""

from __future__ import annotations

import pytest

from voxcore_domain.errors import ValidationError
from voxcore_domain.voice.voicemail import VoicemailRule


def test_a_first_utterance_longer_than_the_limit_is_a_machine() -> None:
    rule = VoicemailRule(greeting_limit_ms=3500)
    assert rule.greeting_limit_frames == 175
    assert not rule.is_machine(50)  # "Hello?" about a second
    assert not rule.is_machine(175)
    assert rule.is_machine(176)


def test_limits_must_be_whole_frames_of_a_sane_length() -> None:
    with pytest.raises(ValidationError) as error:
        VoicemailRule(greeting_limit_ms=5)
    assert error.value.field == "greeting_limit_ms"
    with pytest.raises(ValidationError):
        VoicemailRule(answer_wait_ms=120_000)
