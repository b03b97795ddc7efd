"""How domain values are written into Redis: JSON for slots and configs, flat string fields
for stream entries. The in-memory fakes encode through the same functions, so a value that
Redis would refuse or change is refused or changed by the fake too."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cattrs.preconf.json import make_converter

from voxcore_domain.callevents import CallEvent
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import Slot

converter = make_converter()
"""Datetimes as ISO 8601 text with their offset, enums as their values."""


def text(value: bytes | str) -> str:
    """A Redis reply as text, whether or not the client decodes responses."""
    return value.decode() if isinstance(value, bytes) else value


def encode_slot(slot: Slot) -> str:
    return converter.dumps(slot)


def decode_slot(data: bytes | str) -> Slot:
    return converter.loads(text(data), Slot)


def encode_config(config: Mapping[str, object]) -> str:
    """`config` as compact JSON; `ValidationError` on `config` if JSON cannot carry it."""
    if not isinstance(config, Mapping):
        raise ValidationError("config", f"must be a mapping, got {type(config).__name__}")
    if not all(isinstance(key, str) for key in config):
        raise ValidationError("config", "keys must be strings")
    try:
        return json.dumps(config, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError("config", f"is not JSON: {exc}") from exc


def decode_config(data: bytes | str) -> dict[str, object]:
    decoded: dict[str, object] = json.loads(text(data))
    return decoded


def event_fields(event: CallEvent) -> dict[str, str]:
    """A stream entry's fields: every attribute that is set, as text."""
    unstructured: dict[str, Any] = converter.unstructure(event)
    return {name: str(value) for name, value in unstructured.items() if value is not None}


def event_from_fields(
    fields: Mapping[str, str] | Mapping[bytes | str, bytes | str],
) -> CallEvent:
    return converter.structure({text(k): text(v) for k, v in fields.items()}, CallEvent)
