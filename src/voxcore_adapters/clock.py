"""The system's clock: the `Clock` every role and adapter runs on outside tests."""

from __future__ import annotations

from datetime import UTC, datetime


class UtcClock:
    """The system's clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)
