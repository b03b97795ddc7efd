"""Leader election per shard with fencing tokens: the rule the `LeaderLock` adapters follow.

One dialler at a time holds a shard until its lease lapses. Each new holder gets a fencing token
larger than every earlier one of the shard, so a dialler that lost the lock while paused (GC,
SIGSTOP, a network partition) is recognisably stale: its renew and release are refused, and a
store that remembers the largest token it has seen refuses its writes (`fenced_out`).

A holder is live while `now < expires_at`. A lapsed holder can neither renew nor release, even
when nobody has taken over yet: it cannot know that, and the Redis key has already gone.
`acquire` succeeds only on a free shard; the live holder renews instead.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from voxcore_domain.errors import ValidationError


@attrs.frozen
class Leader:
    """Who holds a shard, and the fencing token they got with it."""

    owner: str
    token: int


@attrs.frozen
class ShardLock:
    """One shard's lock: the last token handed out and the holder, live or lapsed."""

    last_token: int = 0
    leader: Leader | None = None
    expires_at: datetime | None = None

    def holder(self, now: datetime) -> Leader | None:
        """The live holder at `now`, or None."""
        if self.leader is None or self.expires_at is None or now >= self.expires_at:
            return None
        return self.leader


def check_ttl(ttl: timedelta) -> timedelta:
    if not isinstance(ttl, timedelta) or ttl <= timedelta(0):
        raise ValidationError("ttl", f"must be a positive duration, got {ttl!r}")
    return ttl


def check_name(field: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "must not be empty")
    return value


def acquire(
    lock: ShardLock, owner: str, now: datetime, ttl: timedelta
) -> tuple[ShardLock, int | None]:
    """Take the shard if nobody holds it at `now`: the new lock and the new, larger token;
    else the lock unchanged and None."""
    check_name("owner", owner)
    check_ttl(ttl)
    if lock.holder(now) is not None:
        return lock, None
    token = lock.last_token + 1
    return ShardLock(token, Leader(owner, token), now + ttl), token


def renew(
    lock: ShardLock, owner: str, token: int, now: datetime, ttl: timedelta
) -> tuple[ShardLock, bool]:
    """Extend the lease to `now + ttl` if `owner` with `token` is the live holder."""
    check_ttl(ttl)
    if lock.holder(now) != Leader(owner, token):
        return lock, False
    return attrs.evolve(lock, expires_at=now + ttl), True


def release(lock: ShardLock, owner: str, token: int, now: datetime) -> ShardLock:
    """Free the shard if `owner` with `token` is the live holder; otherwise change nothing."""
    if lock.holder(now) != Leader(owner, token):
        return lock
    return ShardLock(lock.last_token)


def fenced_out(token: int, newest_seen: int) -> bool:
    """Whether a write carrying `token` must be refused by a store that has already accepted
    one carrying `newest_seen`: it comes from a holder that has since been replaced."""
    return token < newest_seen


def reissue(
    lock: ShardLock, owner: str, token: int, floor: int, now: datetime, ttl: timedelta
) -> tuple[ShardLock, int | None]:
    """Give the live holder `owner` with `token` a new token above both `floor` and every token
    handed out, keeping the shard: for a holder whose store has seen a newer token than the
    lock remembers (the lock's counter was lost). None (lock unchanged) if it does not hold it."""
    check_ttl(ttl)
    if lock.holder(now) != Leader(owner, token):
        return lock, None
    new = max(lock.last_token, floor) + 1
    return ShardLock(new, Leader(owner, new), now + ttl), new


@attrs.frozen
class Fence:
    """A shard's leader as the contact store knows it: writes stamped with an older token are
    refused once this one has taken the shard over."""

    shard: str = attrs.field()
    token: int = attrs.field()
    """The leader's fencing token from the `LeaderLock`."""

    @shard.validator
    def _named(self, attribute: attrs.Attribute[str], value: str) -> None:
        check_name(attribute.name, value)

    @token.validator
    def _positive(self, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationError(attribute.name, f"must be a whole number above 0, got {value!r}")
