"""Leasing rules, and the in-memory reference implementation of the `ContactLeases` port.

A lease is live while `now < expires_at`. A contact leased but never dialled whose lease expired
may be taken over by the next `lease` call; a contact whose lease expired mid-call is closed out by
`recover_expired` instead, because a dial may have reached the phone network. Every write after
leasing goes through `check_fence`, so a dialler holding an old token changes nothing.

`InMemoryContactLeases` is the behaviour every other adapter's contract suite is checked against:
it favours being obviously right over being fast.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

import attrs

from voxcore_domain.errors import FencedOut, InvalidTransition, StaleLease, ValidationError
from voxcore_domain.leadership import Fence, fenced_out
from voxcore_domain.model import Campaign, CampaignState, Contact, ContactState, Disposition, Lease
from voxcore_domain.retry import next_step
from voxcore_domain.schedule import contact_timezone, is_open


class IneligibleReason(StrEnum):
    """Why a contact may not be leased now; checked in this order."""

    CAMPAIGN_NOT_RUNNING = "campaign_not_running"
    NOT_READY = "not_ready"
    """Terminal, or in a call (a dial may have happened) whatever its lease."""
    LEASED = "leased"
    """Held by a live lease."""
    MAX_ATTEMPTS = "max_attempts"
    NOT_DUE = "not_due"
    """`next_attempt_at` is still in the future."""
    OUTSIDE_WINDOW = "outside_window"
    """Outside the campaign's calling window in the contact's local time."""
    DNC = "dnc"
    """The number is on the tenant's do-not-call list; checked last, so a contact refused only
    for this reason is one that would otherwise have been called."""


# A call only moves forward one step at a time, so its state always says how far the dial got.
_ADVANCES: Mapping[ContactState, ContactState] = {
    ContactState.LEASED: ContactState.DIALING,
    ContactState.DIALING: ContactState.ANSWERED,
    ContactState.ANSWERED: ContactState.ATTACHED,
}


def is_live(lease: Lease | None, now: datetime) -> bool:
    """Whether `lease` still holds its contact at `now`."""
    return lease is not None and now < lease.expires_at


def ineligibility(
    contact: Contact, campaign: Campaign, now: datetime, on_dnc: bool
) -> IneligibleReason | None:
    """Why `contact` of `campaign` may not be leased at `now`, or None if it may."""
    if contact.campaign_id != campaign.id:
        raise ValidationError("campaign", f"contact {contact.id} is not in campaign {campaign.id}")
    if campaign.state is not CampaignState.RUNNING:
        return IneligibleReason.CAMPAIGN_NOT_RUNNING
    if contact.state not in (ContactState.READY, ContactState.LEASED):
        return IneligibleReason.NOT_READY
    if contact.state is ContactState.LEASED and is_live(contact.lease, now):
        return IneligibleReason.LEASED
    if contact.attempts >= campaign.retry.max_attempts:
        return IneligibleReason.MAX_ATTEMPTS
    if contact.next_attempt_at > now:
        return IneligibleReason.NOT_DUE
    if not is_open(campaign.window, contact_timezone(contact, campaign), now):
        return IneligibleReason.OUTSIDE_WINDOW
    if on_dnc:
        return IneligibleReason.DNC
    return None


def new_lease(
    contact_id: str,
    owner: str,
    now: datetime,
    ttl: timedelta,
    rng: random.Random,
    fence: Fence | None = None,
) -> Lease:
    """A lease of `contact_id` for `owner` until `now + ttl`, with a fresh 128-bit token, stamped
    with the leader's `fence` when one is given."""
    return Lease(
        contact_id,
        owner,
        f"{rng.getrandbits(128):032x}",
        now + _positive_ttl(ttl),
        shard=None if fence is None else fence.shard,
        leader_token=None if fence is None else fence.token,
    )


def check_fence(contact: Contact, lease: Lease, now: datetime) -> None:
    """Raise `StaleLease` unless `lease` is the live lease on `contact`."""
    held = contact.lease
    if held is None:
        raise StaleLease(contact.id, "the contact is not leased")
    if lease.contact_id != contact.id or held.token != lease.token:
        raise StaleLease(contact.id, "another lease holds the contact")
    if not is_live(held, now):
        raise StaleLease(contact.id, f"the lease expired at {held.expires_at.isoformat()}")
    # A lease stamped by a leader is good only while no newer leader has taken the contact over;
    # an unstamped one (the API closing a call by its token) is fenced by its token alone.
    if lease.leader_token is not None and held.leader_token != lease.leader_token:
        raise StaleLease(contact.id, "a newer leader of its shard has taken the contact over")


def distinct_campaigns(wanted: Sequence[tuple[Campaign, int]]) -> None:
    """`ValidationError` unless each campaign of a `lease_many` batch comes once, with a whole
    number of contacts, 0 or more."""
    seen: set[str] = set()
    for campaign, n in wanted:
        if campaign.id in seen:
            raise ValidationError("wanted", f"campaign {campaign.id} is asked for twice")
        seen.add(campaign.id)
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValidationError("n", f"must be 0 or more, got {n!r}")


def _positive_ttl(ttl: timedelta) -> timedelta:
    if ttl <= timedelta(0):
        raise ValidationError("ttl", f"must be longer than 0, got {ttl}")
    return ttl


class InMemoryContactLeases:
    """The `ContactLeases` port over a dict: the reference the real adapters must agree with."""

    def __init__(
        self,
        contacts: Iterable[Contact] = (),
        dnc: Mapping[str, Collection[str]] | None = None,
        *,
        rng: random.Random,
    ) -> None:
        """`dnc` maps a tenant id to the phone numbers that tenant must not call."""
        self._contacts = {contact.id: contact for contact in contacts}
        self._dnc = {tenant: frozenset(phones) for tenant, phones in (dnc or {}).items()}
        self._rng = rng
        self._fences: dict[str, int] = {}
        """Each shard's newest leader token seen by `take_over`."""

    def add(self, contact: Contact) -> None:
        """Store `contact`, replacing any with its id; for setting up tests, fenced by nothing."""
        self._contacts[contact.id] = contact

    def get(self, contact_id: str) -> Contact | None:
        return self._contacts.get(contact_id)

    def contacts(self) -> list[Contact]:
        """Every contact, ordered by id."""
        return [self._contacts[key] for key in sorted(self._contacts)]

    def lease(
        self,
        campaign: Campaign,
        n: int,
        owner: str,
        now: datetime,
        ttl: timedelta,
        fence: Fence | None = None,
    ) -> list[Lease]:
        """Lease up to `n` eligible contacts of `campaign`, earliest `next_attempt_at` first, then
        by id. Candidates are taken in that order until `n` are leased; a candidate refused only
        because its number is on the tenant's DNC list on the way becomes DNC, for good. With a
        `fence`, the leases carry it, and `FencedOut` (nothing leased) if a newer leader of its
        shard has taken over."""
        if n < 0:
            raise ValidationError("n", f"must be 0 or more, got {n}")
        _positive_ttl(ttl)
        if fence is not None:
            self.check_leader(fence)
        dnc = self._dnc.get(campaign.tenant_id, frozenset())
        leases: list[Lease] = []
        for contact in self._of_campaign(campaign.id):
            if len(leases) == n:
                break
            reason = ineligibility(contact, campaign, now, on_dnc=contact.phone in dnc)
            if reason is IneligibleReason.DNC:
                self._contacts[contact.id] = attrs.evolve(
                    contact, state=ContactState.DNC, lease=None
                )
            elif reason is None:
                lease = new_lease(contact.id, owner, now, ttl, self._rng, fence)
                self._contacts[contact.id] = attrs.evolve(
                    contact, state=ContactState.LEASED, lease=lease
                )
                leases.append(lease)
        return leases

    def lease_many(
        self,
        wanted: Sequence[tuple[Campaign, int]],
        owner: str,
        now: datetime,
        ttl: timedelta,
        fence: Fence | None = None,
    ) -> dict[str, list[Lease]]:
        """`lease` for each campaign of `wanted` in turn; `FencedOut` (nothing leased) if a
        newer leader of the fence's shard has taken over."""
        distinct_campaigns(wanted)
        if fence is not None:
            self.check_leader(fence)
        return {
            campaign.id: self.lease(campaign, n, owner, now, ttl, fence) for campaign, n in wanted
        }

    def renew(self, lease: Lease, now: datetime, ttl: timedelta) -> Lease:
        """Make the live `lease` expire `ttl` after `now`; the token stays the same."""
        contact = self._fenced(lease, now)
        renewed = attrs.evolve(lease, expires_at=now + _positive_ttl(ttl))
        self._contacts[contact.id] = attrs.evolve(contact, lease=renewed)
        return renewed

    def advance(self, lease: Lease, state: ContactState, now: datetime) -> None:
        """Move the contact one step along leased → dialing → answered → attached. Reaching
        dialing counts an attempt: it is the moment a dial happens."""
        contact = self._fenced(lease, now)
        wanted = ContactState(state)
        if _ADVANCES.get(contact.state) is not wanted:
            raise InvalidTransition("contact", contact.state.value, wanted.value)
        attempts = contact.attempts + 1 if wanted is ContactState.DIALING else contact.attempts
        self._contacts[contact.id] = attrs.evolve(contact, state=wanted, attempts=attempts)

    def complete(
        self, lease: Lease, campaign: Campaign, disposition: Disposition, now: datetime
    ) -> Contact:
        """End the attempt of a dialled contact with `disposition`: apply the campaign's retry
        policy, record the disposition and drop the lease."""
        contact = self._fenced(lease, now)
        if not contact.state.in_call:
            raise InvalidTransition("contact", contact.state.value, Disposition(disposition).value)
        return self._close(contact, campaign, disposition, now)

    def release(self, lease: Lease, now: datetime) -> None:
        """Give back a contact that was leased but never dialled, as ready; no attempt counted."""
        contact = self._fenced(lease, now)
        if contact.state is not ContactState.LEASED:
            raise InvalidTransition("contact", contact.state.value, ContactState.READY.value)
        self._contacts[contact.id] = attrs.evolve(contact, state=ContactState.READY, lease=None)

    def undial(self, lease: Lease, now: datetime) -> None:
        """Give back a dialling contact whose dial the provider refused before it reached the
        callee, as ready; the attempt `advance` counted is taken back."""
        contact = self._fenced(lease, now)
        if contact.state is not ContactState.DIALING:
            raise InvalidTransition("contact", contact.state.value, ContactState.READY.value)
        self._contacts[contact.id] = attrs.evolve(
            contact, state=ContactState.READY, lease=None, attempts=contact.attempts - 1
        )

    def recover_expired(self, campaign: Campaign, now: datetime) -> list[Contact]:
        """Close out as FAILED, by the retry policy, the contacts of `campaign` whose lease is no
        longer live while they are in a call; in `lease` order. A dial may have happened, so they
        are not redialled at once."""
        return [
            self._close(contact, campaign, Disposition.FAILED, now)
            for contact in self._of_campaign(campaign.id)
            if contact.state.in_call and not is_live(contact.lease, now)
        ]

    def recover_expired_many(
        self, campaigns: Sequence[Campaign], now: datetime
    ) -> dict[str, list[Contact]]:
        """`recover_expired` for each of `campaigns` in turn."""
        distinct_campaigns([(campaign, 0) for campaign in campaigns])
        return {campaign.id: self.recover_expired(campaign, now) for campaign in campaigns}

    def take_over(self, fence: Fence, now: datetime) -> list[Contact]:
        """Make `fence` its shard's leader: from now on every write stamped with an older token
        of the shard is refused. Every contact leased under the shard (never dialled, or in a
        call) is stamped with the new token and returned, ordered by id, for the new leader to
        adopt or close out. `FencedOut` if the shard has seen this token or a newer one."""
        newest = self._fences.get(fence.shard, 0)
        if fence.token <= newest:
            raise FencedOut(fence.shard, fence.token, newest)
        self._fences[fence.shard] = fence.token
        taken: list[Contact] = []
        for key in sorted(self._contacts):
            contact = self._contacts[key]
            if contact.lease is None or contact.lease.shard != fence.shard:
                continue
            stamped = attrs.evolve(
                contact, lease=attrs.evolve(contact.lease, leader_token=fence.token)
            )
            self._contacts[key] = stamped
            taken.append(stamped)
        return taken

    def check_leader(self, fence: Fence) -> None:
        """`FencedOut` if a newer leader than `fence` has taken its shard over."""
        newest = self._fences.get(fence.shard, 0)
        if fenced_out(fence.token, newest):
            raise FencedOut(fence.shard, fence.token, newest)

    def _of_campaign(self, campaign_id: str) -> list[Contact]:
        """The campaign's contacts in lease order; a copy, so callers may write while walking."""
        return sorted(
            (contact for contact in self._contacts.values() if contact.campaign_id == campaign_id),
            key=lambda contact: (contact.next_attempt_at, contact.id),
        )

    def _fenced(self, lease: Lease, now: datetime) -> Contact:
        contact = self._contacts.get(lease.contact_id)
        if contact is None:
            raise StaleLease(lease.contact_id, "no such contact")
        check_fence(contact, lease, now)
        return contact

    def _close(
        self, contact: Contact, campaign: Campaign, disposition: Disposition, now: datetime
    ) -> Contact:
        step = next_step(contact, campaign, disposition, now)
        closed = attrs.evolve(
            contact,
            state=step.state,
            next_attempt_at=step.next_attempt_at or contact.next_attempt_at,
            lease=None,
            last_disposition=disposition,
        )
        self._contacts[contact.id] = closed
        return closed
