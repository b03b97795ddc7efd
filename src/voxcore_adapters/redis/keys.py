"""Key names and argument checks shared by the Redis adapters and their in-memory fakes."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from voxcore_domain.errors import ValidationError

DEFAULT_PREFIX = "vox"
"""Every key starts with this, so VoxBridge can share a Redis with other tenants of it."""


def part(value: str) -> str:
    """`value` made safe as one `:`-separated piece of a key: `a:b` + `c` and `a` + `b:c` must
    not name the same key."""
    return quote(value, safe="")


def require_text(field: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "must not be empty")
    return value


def ttl_millis(ttl: timedelta, field: str = "ttl") -> int:
    """`ttl` in whole milliseconds, rounded up (Redis expires keys by the millisecond)."""
    if not isinstance(ttl, timedelta) or ttl <= timedelta(0):
        raise ValidationError(field, f"must be a positive duration, got {ttl!r}")
    micros = ttl // timedelta(microseconds=1)
    return -(-micros // 1000)


def rounded_ttl(ttl: timedelta, field: str = "ttl") -> timedelta:
    """`ttl` as Redis will apply it; the fakes expire by this so they agree with Redis."""
    return timedelta(milliseconds=ttl_millis(ttl, field))
