"""Call attempts in a dict."""

from __future__ import annotations

from datetime import datetime

from voxcore_domain.callstats import CallTally, in_span, tally
from voxcore_domain.model import CallAttempt
from voxcore_domain.ports import CallQuery


class InMemoryCallLog:
    """The `CallLog` and `CallHistory` ports over a dict."""

    def __init__(self) -> None:
        self._attempts: dict[str, CallAttempt] = {}

    def record(self, attempt: CallAttempt) -> None:
        self._attempts[attempt.id] = attempt

    def record_first(self, attempt: CallAttempt) -> CallAttempt:
        return self._attempts.setdefault(attempt.id, attempt)

    def for_contact(self, contact_id: str) -> list[CallAttempt]:
        """The contact's attempts, first one first."""
        return sorted(
            (a for a in self._attempts.values() if a.contact_id == contact_id),
            key=lambda attempt: (attempt.number, attempt.id),
        )

    def get(self, call_id: str) -> CallAttempt | None:
        return self._attempts.get(call_id)

    def swap(self, expected: CallAttempt, new: CallAttempt) -> bool:
        if expected.id != new.id or self._attempts.get(new.id) != expected:
            return False
        self._attempts[new.id] = new
        return True

    def tally(self, campaign_id: str, since: datetime, until: datetime) -> CallTally:
        return tally(
            a
            for a in self._attempts.values()
            if a.campaign_id == campaign_id and in_span(a, since, until)
        )

    def search(self, query: CallQuery) -> list[CallAttempt]:
        """The matching attempts, newest dial first (then by id, largest first)."""
        found = sorted(
            (a for a in self._attempts.values() if _matches(a, query)),
            key=lambda a: (a.dialed_at, a.id),
            reverse=True,
        )
        return found[: query.limit]


def _matches(attempt: CallAttempt, query: CallQuery) -> bool:
    return (
        attempt.tenant_id == query.tenant_id
        and query.campaign_id in (None, attempt.campaign_id)
        and (query.disposition is None or attempt.disposition is query.disposition)
        and (query.since is None or attempt.dialed_at >= query.since)
        and (query.until is None or attempt.dialed_at < query.until)
        and (query.before is None or (attempt.dialed_at, attempt.id) < query.before)
    )
