"""How to reach a LiveKit server and how calls placed through it are set up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from voxcore_domain.errors import ValidationError


def _server_url(_: Any, attribute: attrs.Attribute[str], value: str) -> None:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
        raise ValidationError(attribute.name, f"{value!r} must look like https://livekit.host")


def _non_empty(_: Any, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValidationError(attribute.name, "must not be empty")


def _positive(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not isinstance(value, int | float) or not value > 0:
        raise ValidationError(attribute.name, f"must be greater than 0, got {value!r}")


@attrs.frozen
class LiveKitSettings:
    """A LiveKit server and its API key. The secret never appears in `repr`."""

    url: str = attrs.field(validator=_server_url)
    api_key: str = attrs.field(validator=_non_empty)
    api_secret: str = attrs.field(validator=_non_empty, repr=False)
    request_timeout_s: float = attrs.field(default=10.0, validator=_positive)
    """For every request but a dial or transfer, which waits for the ring time instead."""
    room_empty_timeout_s: int = attrs.field(default=30, validator=_positive)
    """How long LiveKit keeps a call's room when nobody joined it (a dial that failed)."""
    room_departure_timeout_s: int = attrs.field(default=5, validator=_positive)
    """How long it keeps the room after the last participant left (the call ended)."""
    max_call_duration_s: float = attrs.field(default=3600.0, validator=_positive)
    throttle_backoff_s: float = attrs.field(default=1.0, validator=_positive)
    """Suggested pause for a trunk whose rate limit refused a dial; carriers say no more."""
    krisp_enabled: bool = False
    """LiveKit's noise cancellation on the phone leg."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LiveKitSettings:
        """From `LIVEKIT_URL`, `LIVEKIT_API_KEY` and `LIVEKIT_API_SECRET`, the names LiveKit's
        own tools use."""
        env = os.environ if environ is None else environ
        return cls(
            url=env.get("LIVEKIT_URL", ""),
            api_key=env.get("LIVEKIT_API_KEY", ""),
            api_secret=env.get("LIVEKIT_API_SECRET", ""),
        )
