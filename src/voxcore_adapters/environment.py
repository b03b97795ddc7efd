"""A role's settings from its environment variables, each variable read by a table: the field
it sets, how its text is read, and what that expects (`a number`). Errors name the variable,
never repeat a secret."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

from voxcore_domain.errors import ValidationError

T = TypeVar("T")

Variable = tuple[str, Callable[[str], Any], str]
"""The field a variable sets, how its text is read, and what that expects."""


def from_env(
    make: Callable[..., T],
    env: Mapping[str, str],
    variables: Mapping[str, Variable],
    required: Collection[str] = (),
) -> T:
    """`make(**fields)` with the fields of the `variables` set (not blank) in `env`. A variable
    that does not parse, a `required` one missing, or a value `make` refuses (its
    `ValidationError` names the field) raises `ValidationError` naming the variable."""
    values: dict[str, Any] = {}
    for name, (field, parse, kind) in variables.items():
        text = env.get(name, "").strip()
        if not text:
            continue
        try:
            values[field] = parse(text)
        except ValueError:
            # Only numbers and names fail to parse, never a secret: safe to repeat.
            raise ValidationError(name, f"{text!r} is not {kind}") from None
    for name in required:
        if variables[name][0] not in values:
            raise ValidationError(name, "must be set")
    by_field = {field: name for name, (field, _, _) in variables.items()}
    try:
        return make(**values)
    except ValidationError as error:
        raise ValidationError(by_field.get(error.field, error.field), error.message) from None
