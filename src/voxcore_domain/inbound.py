"""Inbound numbers: which voice agent answers a call to one of a tenant's phone numbers."""

from __future__ import annotations

import attrs

from voxcore_domain import validators as v


@attrs.frozen
class InboundNumber:
    """A tenant's phone number that LiveKit's inbound SIP trunk brings calls in on."""

    id: str = attrs.field(validator=v.non_empty)
    tenant_id: str = attrs.field(validator=v.non_empty)
    number: str = attrs.field(validator=v.e164)
    """The called number, E.164; one tenant at a time may hold it."""
    agent_id: str = attrs.field(validator=v.non_empty)
    """The tenant's voice agent that answers calls to `number`."""
    enabled: bool = True
    """A disabled number's calls are left to LiveKit's dispatch rules: no agent is attached."""
