"""Contact listings over the in-memory contact store."""

from __future__ import annotations

from voxcore_domain.errors import ValidationError
from voxcore_domain.lease import InMemoryContactLeases
from voxcore_domain.model import Contact, ContactState
from voxcore_domain.ports import MAX_PAGE


def checked_limit(limit: int) -> int:
    """`limit` if it is a whole number from 1 to `MAX_PAGE`; the fake is the reference for what
    the port accepts."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise ValidationError("limit", f"must be a whole number from 1 to {MAX_PAGE}")
    return limit


class InMemoryContactDirectory:
    """The `ContactDirectory` port over an `InMemoryContactLeases`."""

    def __init__(self, leases: InMemoryContactLeases) -> None:
        self._leases = leases

    def page(
        self,
        campaign_id: str,
        *,
        state: ContactState | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[Contact]:
        checked_limit(limit)
        wanted = None if state is None else ContactState(state)
        found = [
            contact
            for contact in self._leases.contacts()
            if contact.campaign_id == campaign_id
            and (wanted is None or contact.state is wanted)
            and (after is None or contact.id > after)
        ]
        return found[:limit]

    def state_counts(self, campaign_id: str) -> dict[ContactState, int]:
        counts = dict.fromkeys(ContactState, 0)
        for contact in self._leases.contacts():
            if contact.campaign_id == campaign_id:
                counts[contact.state] += 1
        return counts
