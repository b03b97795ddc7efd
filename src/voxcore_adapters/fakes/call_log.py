"""Call attempts in a dict."""

from __future__ import annotations

from voxcore_domain.model import CallAttempt


class InMemoryCallLog:
    """The `CallLog` port over a dict."""

    def __init__(self) -> None:
        self._attempts: dict[str, CallAttempt] = {}

    def record(self, attempt: CallAttempt) -> None:
        self._attempts[attempt.id] = attempt

    def for_contact(self, contact_id: str) -> list[CallAttempt]:
        """The contact's attempts, first one first."""
        return sorted(
            (a for a in self._attempts.values() if a.contact_id == contact_id),
            key=lambda attempt: (attempt.number, attempt.id),
        )

    def get(self, call_id: str) -> CallAttempt | None:
        return self._attempts.get(call_id)
