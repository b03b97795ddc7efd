"""Call events: what the live stats and the console see of each call as it happens.

The dialler and the fleet publish one event per step of a call; readers fold them into live
counts per campaign. The durable record of a call stays its `CallAttempt`: events may be trimmed
away after a while, attempts never are.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import attrs

from voxcore_domain.errors import ValidationError
from voxcore_domain.model import Disposition


class CallEventKind(StrEnum):
    DIALED = "dialed"
    ANSWERED = "answered"
    ATTACHED = "attached"
    """A fleet worker took the answered call."""
    ENDED = "ended"
    """The call is over; its disposition says how (abandoned calls end here too)."""


def _kind(value: str) -> CallEventKind:
    try:
        return CallEventKind(value)
    except ValueError:
        allowed = ", ".join(kind.value for kind in CallEventKind)
        raise ValidationError("kind", f"{value!r} is not one of {allowed}") from None


def _optional_disposition(value: str | None) -> Disposition | None:
    if value is None:
        return None
    try:
        return Disposition(value)
    except ValueError:
        allowed = ", ".join(disposition.value for disposition in Disposition)
        raise ValidationError("disposition", f"{value!r} is not one of {allowed}") from None


def _non_empty(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(attribute.name, "must not be empty")


def _aware(_: object, attribute: attrs.Attribute[datetime], value: datetime) -> None:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValidationError(attribute.name, "must be a timezone-aware datetime")


def _campaign(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    # Empty, not blank: a stand-alone call has no campaign, and no campaign's stream carries it.
    if not isinstance(value, str) or (value and not value.strip()):
        raise ValidationError(attribute.name, "must not be blank")


@attrs.frozen
class CallEvent:
    """One step of one call."""

    kind: CallEventKind = attrs.field(converter=_kind)
    call_id: str = attrs.field(validator=_non_empty)
    campaign_id: str = attrs.field(validator=_campaign)
    """Empty for a stand-alone call (a worker's own dial-out or widget call)."""
    tenant_id: str = attrs.field(validator=_non_empty)
    at: datetime = attrs.field(validator=_aware)
    disposition: Disposition | None = attrs.field(default=None, converter=_optional_disposition)
    """How the call ended: required for `ended`, absent otherwise."""
    worker: str | None = None
    """The fleet worker (host/slot) that took the call, once attached."""

    @disposition.validator
    def _disposition(self, attribute: attrs.Attribute[Disposition | None], value: object) -> None:
        if self.kind is CallEventKind.ENDED:
            if not isinstance(value, Disposition):
                raise ValidationError(attribute.name, "an ended call needs a disposition")
        elif value is not None:
            raise ValidationError(attribute.name, f"only an ended call has one, not {self.kind}")


@attrs.frozen
class StreamedEvent:
    """An event as a stream returns it, with its position to read on from."""

    id: str
    """Stream position, `<milliseconds>-<sequence>`; later events have larger ones."""
    event: CallEvent
