"""SIP trunks and fleet hosts: where calls go out, and where answered calls are handed over.

A trunk is a tenant's way out to the phone network (a LiveKit outbound SIP trunk in production):
its carrier allows so many call set-ups per second and so many calls at once, and the dialler
never asks for more. A fleet host is one machine of voice workers behind nginx; the platform
admin keeps the list the dialler and the API attach calls to.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from voxcore_domain import validators as v
from voxcore_domain.errors import ValidationError


def _caller_ids(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError("caller_ids", "must be a list of E.164 numbers")
    return tuple(value)


def _each_e164(
    _: object, attribute: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]
) -> None:
    for number in value:
        v.e164(None, attribute, number)


@attrs.frozen
class Trunk:
    """One tenant's outbound SIP trunk and the limits its carrier sets."""

    id: str = attrs.field(validator=v.non_empty)
    tenant_id: str = attrs.field(validator=v.non_empty)
    name: str = attrs.field(validator=v.non_empty)
    livekit_trunk_id: str = attrs.field(validator=v.non_empty)
    """The LiveKit outbound trunk (`ST_…`) that `CreateSIPParticipant` dials through."""
    caller_ids: tuple[str, ...] = attrs.field(
        factory=tuple, converter=_caller_ids, validator=_each_e164
    )
    """The numbers this trunk may present; a campaign's caller id must be one of them (when the
    list is not empty)."""
    cps: float = attrs.field(default=1.0, validator=v.positive)
    """Call set-ups per second the carrier accepts on this trunk."""
    channels: int | None = attrs.field(default=None, validator=v.optional(v.positive_int))
    """Most calls the trunk carries at once; None when the carrier sets no limit."""
    enabled: bool = True
    """A disabled trunk takes no new dials."""

    def allows_caller_id(self, number: str) -> bool:
        return not self.caller_ids or number in self.caller_ids


@attrs.frozen
class FleetHost:
    """One machine of voice workers, reached through its nginx."""

    id: str = attrs.field(validator=v.non_empty)
    url: str = attrs.field(validator=v.non_empty)
    """Base URL of the host's nginx (`http://10.0.0.5:8000`), or a Unix socket's `unix:` path."""
    enabled: bool = True
    """A disabled host takes no new calls; calls already on it run to their end."""

    @url.validator
    def _url(self, attribute: attrs.Attribute[str], value: str) -> None:
        if not value.startswith(("http://", "https://", "unix:")):
            raise ValidationError(attribute.name, "must start with http://, https:// or unix:")
