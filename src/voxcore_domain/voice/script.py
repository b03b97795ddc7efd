"""What the default scripted agent says: a greeting, a reply per caller turn, a closing, and the
message it leaves on a machine. Each prompt may name the contact's variables as `{name}`."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import attrs

from voxcore_domain import validators as v
from voxcore_domain.errors import ValidationError
from voxcore_domain.voice.call import DTMF_DIGITS

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


_SIP_URI = re.compile(r"^sips?:[^\s@]+@[^\s@]+$")


def _transfer_target(_: object, attribute: attrs.Attribute[str | None], value: str) -> None:
    if not isinstance(value, str) or not (v.E164.match(value) or _SIP_URI.match(value)):
        raise ValidationError(
            attribute.name, f"{value!r} is neither an E.164 number nor a sip: URI"
        )


def _dtmf_key(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not DTMF_DIGITS.match(value):
        raise ValidationError(attribute.name, f"{value!r} is not a DTMF key (0-9, *, #, A-D)")


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
    transfer_to: str | None = attrs.field(default=None, validator=v.optional(_transfer_target))
    """Where a caller who asks for a person goes (E.164 or a `sip:` URI); None: no transfers."""
    transfer_digit: str = attrs.field(default="0", validator=_dtmf_key)
    """The key that asks for a person."""
    transfer_at_end: bool = False
    """Transfer instead of closing once the replies run out (the script's transfer step)."""
    transfer_prompt: str = attrs.field(
        default="Please hold while I transfer you.", validator=_prompt
    )
    transfer_failed: str = attrs.field(
        default="I am sorry, I could not transfer you. Let us continue.", validator=_prompt
    )
    """Said when the transfer failed; the conversation then goes on."""

    def render(self, variables: Mapping[str, str]) -> Script:
        """The script with each `{variable}` replaced by its value; an unknown one is left out,
        so a contact without a name hears "Hello, this is…" rather than a placeholder."""

        def fill(prompt: str) -> str:
            text = PLACEHOLDER.sub(lambda found: variables.get(found.group(1), ""), prompt)
            return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", " ".join(text.split()))

        return attrs.evolve(
            self,
            greeting=fill(self.greeting),
            replies=tuple(fill(reply) for reply in self.replies),
            closing=fill(self.closing),
            voicemail=None if self.voicemail is None else fill(self.voicemail),
            transfer_prompt=fill(self.transfer_prompt),
            transfer_failed=fill(self.transfer_failed),
        )
