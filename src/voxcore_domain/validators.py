"""attrs validators shared by the domain's values: each raises `ValidationError` naming the
attribute, so an API can answer 4xx with the field and the reason."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from voxcore_domain.errors import ValidationError

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
"""ITU E.164: a plus, a country code that does not start with 0, 7 to 15 digits in all."""

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def e164(_: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    if not isinstance(value, str) or not E164.match(value):
        raise ValidationError(attribute.name, f"{value!r} is not an E.164 number like +14155550123")


def positive(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not _is_number(value) or value <= 0:
        raise ValidationError(attribute.name, f"must be a finite number above 0, got {value!r}")


def non_negative(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not _is_number(value) or value < 0:
        raise ValidationError(attribute.name, f"must be 0 or more, got {value!r}")


def at_least(minimum: float) -> Validator:
    def check(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
        if not _is_number(value) or value < minimum:
            raise ValidationError(attribute.name, f"must be at least {minimum}, got {value!r}")

    return check


def share(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not _is_number(value) or not 0.0 <= value <= 1.0:
        raise ValidationError(attribute.name, f"must be between 0 and 1, got {value!r}")


def count(_: Any, attribute: attrs.Attribute[Any], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError(attribute.name, f"must be a whole number, 0 or more, got {value!r}")


def optional(validator: Validator) -> Validator:
    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            validator(instance, attribute, value)

    return check


def positive_int(_: Any, attribute: attrs.Attribute[Any], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValidationError(attribute.name, f"must be a whole number above 0, got {value!r}")


def non_empty(_: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(attribute.name, "must not be empty")


def aware(_: Any, attribute: attrs.Attribute[Any], value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValidationError(attribute.name, "must be a timezone-aware datetime")


def timezone(_: Any, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is None:
        return
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(attribute.name, f"unknown time zone {value!r}") from exc


E = TypeVar("E", bound=StrEnum)


def member(kind: type[E], field: str, value: Any) -> E:
    """`value` as a member of `kind`; `ValidationError` naming `field` when it is none of them.
    (Wrap it in a named converter per field: mypy's attrs plugin accepts only named ones.)"""
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(item.value for item in kind)
        raise ValidationError(field, f"{value!r} is not one of {allowed}") from None
