"""What the default scripted agent says: a greeting, a reply per caller turn, a closing, and the
message it leaves on a machine. Each prompt may name the contact's variables as `{name}`."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import attrs

from voxcore_domain import validators as v
from voxcore_domain.errors import ValidationError

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
"""`{variable}` in a prompt; nothing else is interpreted, so a contact's values cannot inject
formatting."""
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([,.;:?!])")


def _has_words(prompt: object) -> bool:
    # Words outside the placeholders: a prompt that is only `{name}` would say nothing to a
    # contact without a name.
    return isinstance(prompt, str) and bool(PLACEHOLDER.sub("", prompt).strip())


def _prompt(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not _has_words(value):
        raise ValidationError(attribute.name, "must be a prompt with words besides placeholders")


def _replies(value: Iterable[str]) -> tuple[str, ...]:
    # A typed converter: with plain `tuple`, mypy's attrs plugin loses the element type.
    return tuple(value)


def _each_prompt(
    _: object, attribute: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]
) -> None:
    if not all(_has_words(reply) for reply in value):
        raise ValidationError(attribute.name, "each reply must have words besides placeholders")


@attrs.frozen
class Script:
    """The prompts of one scripted conversation."""

    greeting: str = attrs.field(
        default="Hello {name}, this is an automated call from VoxBridge.", validator=_prompt
    )
    replies: tuple[str, ...] = attrs.field(
        default=(
            "Thank you. Is this a good time to talk about your account?",
            "Thank you, I have noted that.",
        ),
        converter=_replies,
        validator=_each_prompt,
    )
    """Said in order, one after each time the caller speaks or presses a key; after the last
    the agent closes."""
    closing: str = attrs.field(default="Thank you for your time. Goodbye.", validator=_prompt)
    voicemail: str | None = attrs.field(
        default="Hello {name}, this is VoxBridge. We will call you again later. Goodbye.",
        validator=v.optional(_prompt),
    )
    """Left on an answering machine after its greeting; None hangs up on machines."""

    def render(self, variables: Mapping[str, str]) -> Script:
        """The script with each `{variable}` replaced by its value; an unknown one is left out,
        so a contact without a name hears "Hello, this is…" rather than a placeholder."""

        def fill(prompt: str) -> str:
            text = PLACEHOLDER.sub(lambda found: variables.get(found.group(1), ""), prompt)
            return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", " ".join(text.split()))

        return Script(
            fill(self.greeting),
            tuple(fill(reply) for reply in self.replies),
            fill(self.closing),
            None if self.voicemail is None else fill(self.voicemail),
        )
