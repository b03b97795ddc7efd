"""Errors the domain raises. Each names what was wrong so an API can answer 4xx with it."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""


class ValidationError(DomainError, ValueError):
    """A value was refused; `field` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class InvalidTransition(DomainError):
    """A state change the lifecycle does not allow (an API answers 409)."""

    def __init__(self, kind: str, current: str, wanted: str) -> None:
        super().__init__(f"{kind} cannot go from {current!r} to {wanted!r}")
        self.kind = kind
        self.current = current
        self.wanted = wanted


class StaleLease(DomainError):
    """A write carried a lease token that no longer holds the contact."""

    def __init__(self, contact_id: str, reason: str) -> None:
        super().__init__(f"contact {contact_id}: stale lease ({reason})")
        self.contact_id = contact_id
        self.reason = reason


class FencedOut(DomainError):
    """A write carried a leader token older than the newest one the store has seen for the shard:
    it comes from a dialler that has since been replaced as the shard's leader."""

    def __init__(self, shard: str, token: int, newest: int) -> None:
        super().__init__(f"shard {shard}: leader token {token} is fenced out by {newest}")
        self.shard = shard
        self.token = token
        self.newest = newest
