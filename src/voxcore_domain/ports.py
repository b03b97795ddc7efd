"""The domain's ports: what it needs from the outside world, as small `typing.Protocol`s.

Each port has an in-memory fake in `voxcore_adapters.fakes` and a real adapter (MongoDB, Redis,
LiveKit, S3); one contract suite runs against both. Stores backed by pymongo are synchronous;
ports that wait on the network for seconds (telephony, the fleet, Redis) are `async`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

import attrs

from voxcore_domain.model import (
    CallAttempt,
    Campaign,
    Contact,
    ContactState,
    Disposition,
    Lease,
    Slot,
)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


class ContactLeases(Protocol):
    """Contacts of running campaigns, handed out under fenced leases."""

    def lease(
        self, campaign: Campaign, n: int, owner: str, now: datetime, ttl: timedelta
    ) -> list[Lease]:
        """Lease up to `n` eligible contacts; never one held by a live lease. O(1) round trips."""
        ...

    def renew(self, lease: Lease, now: datetime, ttl: timedelta) -> Lease:
        """Extend a live lease; `StaleLease` if the token no longer holds the contact."""
        ...

    def advance(self, lease: Lease, state: ContactState, now: datetime) -> None:
        """Move a leased contact to dialing, answered or attached; fenced by the token."""
        ...

    def complete(
        self, lease: Lease, campaign: Campaign, disposition: Disposition, now: datetime
    ) -> Contact:
        """Record an attempt's end, schedule the next one by the campaign's retry policy and
        calling window, drop the lease."""
        ...

    def release(self, lease: Lease, now: datetime) -> None:
        """Give back a contact that was leased but never dialled; no attempt is counted."""
        ...

    def recover_expired(self, campaign: Campaign, now: datetime) -> list[Contact]:
        """Close out contacts whose lease expired mid-call (their dialler died) as failed
        attempts, rescheduled by the retry policy; returns them."""
        ...


class Campaigns(Protocol):
    def get(self, campaign_id: str) -> Campaign | None: ...

    def running(self) -> list[Campaign]: ...


class CallLog(Protocol):
    """Every dial, answer, attach and end, one `CallAttempt` per dial."""

    def record(self, attempt: CallAttempt) -> None:
        """Insert the attempt, or replace it if its id exists (its fields only grow)."""
        ...

    def for_contact(self, contact_id: str) -> list[CallAttempt]: ...


class SlotRegistry(Protocol):
    """The fleet's slots as their workers last reported them; entries expire without heartbeats."""

    async def heartbeat(self, slot: Slot, ttl: timedelta) -> None: ...

    async def slots(self) -> list[Slot]: ...


@attrs.frozen
class DialRequest:
    """One outbound call to place through the telephony provider."""

    call_id: str
    trunk_id: str
    to: str
    caller_id: str
    ring_timeout_s: float
    room: str
    """Where the answered call's media meets the voice agent."""


@attrs.frozen
class DialResult:
    """What became of a dial: answered (then `disposition` is None) or why not."""

    call_id: str
    answered_at: datetime | None
    disposition: Disposition | None = None
    sip_status: int | None = None
    """The carrier's SIP status code, when it gave one."""


class Telephony(Protocol):
    async def place_call(self, request: DialRequest) -> DialResult:
        """Dial and wait until answered or failed."""
        ...

    async def hang_up(self, call_id: str, room: str) -> None: ...


@attrs.frozen
class AttachRequest:
    """An answered call handed to a fleet worker."""

    call_id: str
    tenant_id: str
    campaign_id: str
    agent_id: str
    lease_token: str
    room: str
    variables: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class AttachResult:
    accepted: bool
    host: str | None = None
    """The fleet host that took the call; None when every host refused."""
    retry_after_s: float | None = None


class FleetClient(Protocol):
    async def attach(self, request: AttachRequest, hosts: Sequence[str]) -> AttachResult:
        """Try `hosts` in order; the next one on 429, 503 or a connection error."""
        ...


class RecordingStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes: ...

    def url(self, key: str, expires: timedelta) -> str:
        """A presigned URL that lets a browser fetch the recording until it expires."""
        ...


class RuntimeConfigCache(Protocol):
    async def get(self, agent_id: str) -> Mapping[str, object] | None: ...

    async def put(self, agent_id: str, config: Mapping[str, object], ttl: timedelta) -> None: ...

    async def invalidate(self, agent_id: str) -> None: ...


class LeaderLock(Protocol):
    """One active dialler per shard; each new holder gets a larger fencing token."""

    async def acquire(self, shard: str, owner: str, ttl: timedelta) -> int | None:
        """The fencing token if `owner` now holds the shard, else None."""
        ...

    async def renew(self, shard: str, owner: str, token: int, ttl: timedelta) -> bool: ...

    async def release(self, shard: str, owner: str, token: int) -> None: ...
