"""The `ContactLeases` port over the `contacts` collection, in step with the reference
`voxcore_domain.lease.InMemoryContactLeases`.

Leasing costs a fixed number of round trips, whatever the number of contacts, and a tick's
`lease_many` one more per campaign: find each campaign's candidates in lease order with an index;
check the calling window (it depends on each contact's time zone) here and every campaign's
candidates against the DNC lists with one query; then one bulk write marks the DNC'd ones and,
per campaign, a guarded `update_many` that only matches contacts still eligible sets each one's
owner, token and expiry. Only when it matched fewer than offered (another dialler got some
first) are the contacts read back by token.

Each contact gets its own token, drawn in lease order as the reference draws them, so that a
lease is only ever good for its own contact and a seeded store hands out the reference's tokens.
The update is an aggregation pipeline (MongoDB 4.2 and later) that looks each document's token up
by its id.

Every later write carries the token and "lease not expired yet" in its filter, so a stale
dialler's write matches nothing; only then is the contact read, to raise the reference's error.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import attrs
from pymongo import UpdateMany, UpdateOne
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from voxcore_adapters.mongo.dnc import MongoDncList
from voxcore_adapters.mongo.documents import Document, from_document, to_document, to_millis
from voxcore_adapters.mongo.schema import CONTACTS, LEADER_FENCES, collection
from voxcore_domain.errors import FencedOut, InvalidTransition, StaleLease, ValidationError
from voxcore_domain.leadership import Fence, fenced_out
from voxcore_domain.lease import check_fence, distinct_campaigns, new_lease
from voxcore_domain.model import (
    Campaign,
    CampaignState,
    Contact,
    ContactState,
    Disposition,
    Lease,
)
from voxcore_domain.retry import next_step
from voxcore_domain.schedule import contact_timezone, is_open

IN_CALL = [state.value for state in ContactState if state.in_call]

# The step before each state `advance` may move to: leased → dialing → answered → attached.
PREVIOUS: Mapping[ContactState, ContactState] = {
    ContactState.DIALING: ContactState.LEASED,
    ContactState.ANSWERED: ContactState.DIALING,
    ContactState.ATTACHED: ContactState.ANSWERED,
}

CONTENTION_SPREAD = 4
"""After losing a race, a leaser picks its next candidates at random among this many times as
many as it still wants."""

RECOVERY_OWNER = "recover_expired"
RECOVERY_TTL = timedelta(minutes=1)
"""How long `recover_expired` holds the calls it closes: if it dies mid-way, they are up for
recovery again after this."""

_Page = tuple[Campaign, int, tuple[datetime, str] | None, int]
"""A campaign's next page of candidates: the campaign, how many it wants, the last (due, id)
read so far, the page size."""

# A write whose filter missed, on a contact the re-read shows still fenced by the same token, lost
# a race with that token's holder moving the call forward; that can happen only a few times.
_WRITE_ATTEMPTS = len(ContactState)


def _aware(name: str, value: datetime) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(name, "must be a timezone-aware datetime")
    return value


def _positive_ttl(ttl: timedelta) -> timedelta:
    if ttl <= timedelta(0):
        raise ValidationError("ttl", f"must be longer than 0, got {ttl}")
    return ttl


def _contact_state(value: str) -> ContactState:
    try:
        return ContactState(value)
    except ValueError:
        raise ValidationError("state", f"{value!r} is not a contact state") from None


def eligible_filter(campaign: Campaign, now: datetime) -> Document:
    """Contacts of `campaign` the query can tell are eligible at `now`: ready, or leased under an
    expired lease and never dialled; due; attempts left. The window and DNC are checked apart.

    On MongoDB the `lease_order` index serves it: equality on the campaign, two state values,
    then the lease order. No top-level `$or` (a ready contact has no lease, so "no live lease"
    covers both states): with one, SecantusDB would not look `_id`s up by index in the guarded
    update and would scan the collection for every batch.
    """
    return {
        "campaign_id": campaign.id,
        "state": {"$in": [ContactState.READY.value, ContactState.LEASED.value]},
        "next_attempt_at": {"$lte": now},
        "attempts": {"$lt": campaign.retry.max_attempts},
        "lease.expires_at": {"$not": {"$gt": now}},
    }


def _fence(lease: Lease, now: datetime) -> Document:
    """Matches the contact only while `lease` is its live lease and, for a lease a leader took,
    no newer leader of its shard has stamped the contact (`take_over`)."""
    guard: Document = {
        "_id": lease.contact_id,
        "lease.token": lease.token,
        "lease.expires_at": {"$gt": now},
    }
    if lease.leader_token is not None:
        guard["lease.leader_token"] = lease.leader_token
    return guard


class MongoContactLeases:
    """The `ContactLeases` port over MongoDB.

    `rng` draws the lease tokens (default: the operating system's randomness). Concurrent
    leasers read overlapping candidates and each wins only those still free, so a batch can come
    back short. `lease` then tries again, up to `contention_rounds` times in all, with candidates
    drawn at random from near the front of the line (`CONTENTION_SPREAD`) so that the losers of
    one race do not all run into each other again; it returns short only when the candidates or
    the rounds run out. A first round that nobody raced is exactly the reference's choice.
    """

    def __init__(
        self,
        db: Database[Document],
        *,
        rng: random.Random | None = None,
        contention_rounds: int = 4,
    ) -> None:
        if not isinstance(contention_rounds, int) or contention_rounds < 1:
            raise ValidationError(
                "contention_rounds", f"must be a whole number above 0, got {contention_rounds!r}"
            )
        self._contacts = collection(db, CONTACTS)
        self._fences = collection(db, LEADER_FENCES)
        self._dnc = MongoDncList(db)
        self._rng = rng or random.SystemRandom()
        self._rounds = contention_rounds

    # -- set-up and inspection, fenced by nothing --------------------------------------------------

    def add(self, contact: Contact) -> None:
        """Store `contact`, replacing any with its id; for tests and tools, not the dialler."""
        self._contacts.replace_one({"_id": contact.id}, to_document(contact), upsert=True)

    def get(self, contact_id: str) -> Contact | None:
        document = self._contacts.find_one({"_id": contact_id})
        return None if document is None else from_document(document, Contact)

    def contacts(self, campaign_id: str | None = None) -> list[Contact]:
        """Every contact (of `campaign_id`, if given), ordered by id."""
        query = {} if campaign_id is None else {"campaign_id": campaign_id}
        found = self._contacts.find(query).sort("_id", 1)
        return [from_document(document, Contact) for document in found]

    # -- the port ------------------------------------------------------------------------------

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
        by id, as the reference does; a candidate on the tenant's DNC list met on the way becomes
        DNC. Expiries are truncated to the millisecond. `lease_many` for one campaign."""
        return self.lease_many([(campaign, n)], owner, now, ttl, fence)[campaign.id]

    def lease_many(
        self,
        wanted: Sequence[tuple[Campaign, int]],
        owner: str,
        now: datetime,
        ttl: timedelta,
        fence: Fence | None = None,
    ) -> dict[str, list[Lease]]:
        """`lease` for each campaign of `wanted`, as the reference leases them one after another.

        Round trips for the batch: one candidate read per campaign (more only for a campaign
        whose first page was mostly outside its window or on the DNC list), one DNC read for
        every campaign's candidates, one bulk write that takes them all (and marks the DNC'd
        ones), a read back only when another leaser got some first, then further rounds only
        for the campaigns that lost a race (`contention_rounds`).

        With a `fence` the leases are stamped with it, and the shard's fence document is read
        once, after every lease of the batch is written: a newer leader's `take_over` raises it
        before it stamps the shard's contacts, so a lease written after that stamping was
        written before this read, which sees the raised fence; every lease of the batch is then
        given back and `FencedOut` raised. A lease written before the stamping was stamped over
        (the new leader's to release). One read per batch holds as well as one per campaign
        because what it must come after is the batch's last write, and nothing of the batch is
        dialled before it returns."""
        _positive_ttl(ttl)
        _aware("now", now)
        distinct_campaigns(wanted)
        leased: dict[str, list[Lease]] = {campaign.id: [] for campaign, _ in wanted}
        short = {
            campaign.id: (campaign, n)
            for campaign, n in wanted
            if n > 0 and campaign.state is CampaignState.RUNNING
        }
        expires_at = to_millis(now + ttl)
        for round_ in range(self._rounds):
            if not short:
                break
            # Rivals that lost the same race would all pick the same next candidates and
            # collide again: after the first round, spread out over a wider choice, still
            # near the front.
            spread = 1 if round_ == 0 else CONTENTION_SPREAD
            choices, blocked = self._pick_many(
                [
                    (campaign, (n - len(leased[key])) * spread)
                    for key, (campaign, n) in short.items()
                ],
                now,
            )
            offered: dict[str, list[Lease]] = {}
            for key, (_, n) in short.items():
                still = n - len(leased[key])
                choice = choices[key]
                if round_ > 0:
                    chosen = set(self._rng.sample(range(len(choice)), min(still, len(choice))))
                    choice = [contact for i, contact in enumerate(choice) if i in chosen]
                offered[key] = [
                    attrs.evolve(
                        new_lease(c.id, owner, now, ttl, self._rng, fence), expires_at=expires_at
                    )
                    for c in choice
                ]
            campaigns = {key: campaign for key, (campaign, _) in short.items()}
            won = self._take_many(campaigns, offered, blocked, now)
            raced: dict[str, tuple[Campaign, int]] = {}
            for key, offers in offered.items():
                leased[key].extend(won[key])
                # Nobody raced a campaign that got all it was offered: nothing more of it is
                # eligible than what was picked. None offered: nothing is left.
                if offers and len(won[key]) < len(offers):
                    raced[key] = short[key]
            short = raced
        if fence is not None and any(leased.values()):
            try:
                self.check_leader(fence)
            except FencedOut:
                self._contacts.update_many(
                    {
                        "lease.token": {
                            "$in": [lease.token for leases in leased.values() for lease in leases]
                        },
                        "lease.leader_token": fence.token,
                        "state": ContactState.LEASED.value,
                    },
                    {"$set": {"state": ContactState.READY.value, "lease": None}},
                )
                raise
        return leased

    def take_over(self, fence: Fence, now: datetime) -> list[Contact]:
        """Make `fence` its shard's leader, as the reference does: raise the shard's fence
        document to its token (one guarded upsert: it matches only an older fence, and the
        unique `_id` refuses a second document), then stamp every contact leased under the shard
        with it, then read them back. Three round trips."""
        _aware("now", now)
        try:
            self._fences.update_one(
                {"_id": fence.shard, "token": {"$lt": fence.token}},
                {"$set": {"token": fence.token, "at": now}},
                upsert=True,
            )
        except DuplicateKeyError:
            raise FencedOut(fence.shard, fence.token, self._newest(fence.shard)) from None
        self._contacts.update_many(
            {"lease.shard": fence.shard, "lease.leader_token": {"$lt": fence.token}},
            {"$set": {"lease.leader_token": fence.token}},
        )
        found = self._contacts.find(
            {"lease.shard": fence.shard, "lease.leader_token": fence.token}
        ).sort("_id", 1)
        return [from_document(document, Contact) for document in found]

    def check_leader(self, fence: Fence) -> None:
        """`FencedOut` if a newer leader than `fence` has taken its shard over: one read of the
        shard's fence document."""
        newest = self._newest(fence.shard)
        if fenced_out(fence.token, newest):
            raise FencedOut(fence.shard, fence.token, newest)

    def _newest(self, shard: str) -> int:
        document = self._fences.find_one({"_id": shard})
        return 0 if document is None else int(document["token"])

    def renew(self, lease: Lease, now: datetime, ttl: timedelta) -> Lease:
        """Make the live `lease` expire `ttl` after `now`; the token stays the same."""
        _aware("now", now)
        renewed = attrs.evolve(lease, expires_at=to_millis(now + _positive_ttl(ttl)))
        self._fenced_write(lease, now, None, {"$set": {"lease": to_document(renewed)}})
        return renewed

    def advance(self, lease: Lease, state: ContactState, now: datetime) -> None:
        """Move the contact one step along leased → dialing → answered → attached; reaching
        dialing counts an attempt."""
        _aware("now", now)
        wanted = _contact_state(state)
        update: Document = {"$set": {"state": wanted.value}}
        if wanted is ContactState.DIALING:
            update["$inc"] = {"attempts": 1}
        previous = PREVIOUS.get(wanted)
        if previous is None:
            contact = self._fenced(lease, now)
            raise InvalidTransition("contact", contact.state.value, wanted.value)
        self._fenced_write(lease, now, previous, update, wanted.value)

    def complete(
        self, lease: Lease, campaign: Campaign, disposition: Disposition, now: datetime
    ) -> Contact:
        """End the attempt of a dialled contact with `disposition` by the campaign's retry policy
        and drop the lease. Two round trips: the next step depends on the stored contact."""
        _aware("now", now)
        try:
            disposition = Disposition(disposition)
        except ValueError:
            raise ValidationError("disposition", f"{disposition!r} is not one") from None
        for _ in range(_WRITE_ATTEMPTS):
            contact = self._fenced(lease, now)
            if not contact.state.in_call:
                raise InvalidTransition("contact", contact.state.value, disposition.value)
            closed = self._closed(contact, campaign, disposition, now)
            guard = _fence(lease, now) | {
                "state": contact.state.value,
                "attempts": contact.attempts,
            }
            if self._contacts.update_one(guard, self._closing(closed)).matched_count:
                return closed
        raise RuntimeError(f"contact {lease.contact_id} kept changing under complete()")

    def release(self, lease: Lease, now: datetime) -> None:
        """Give back a contact leased but never dialled, as ready; no attempt counted."""
        _aware("now", now)
        update = {"$set": {"state": ContactState.READY.value, "lease": None}}
        self._fenced_write(lease, now, ContactState.LEASED, update, ContactState.READY.value)

    def undial(self, lease: Lease, now: datetime) -> None:
        """Give back a dialling contact whose dial the provider refused before it reached the
        callee, as ready; the attempt `advance` counted is taken back."""
        _aware("now", now)
        update = {
            "$set": {"state": ContactState.READY.value, "lease": None},
            "$inc": {"attempts": -1},
        }
        self._fenced_write(lease, now, ContactState.DIALING, update, ContactState.READY.value)

    def recover_expired(self, campaign: Campaign, now: datetime) -> list[Contact]:
        """Close out as FAILED, by the retry policy, the contacts of `campaign` in a call whose
        lease expired; in lease order. `recover_expired_many` for one campaign."""
        return self.recover_expired_many([campaign], now)[campaign.id]

    def recover_expired_many(
        self, campaigns: Sequence[Campaign], now: datetime
    ) -> dict[str, list[Contact]]:
        """`recover_expired` for each of `campaigns`, as the reference does them in turn.

        One round trip when nothing has expired, three otherwise, however many campaigns: the
        calls are first leased to the recovery under one fresh token (briefly, so a recovery
        that dies leaves them to the next one, and concurrent recoveries never close one call
        twice), read back by it, then each closed by its campaign's retry policy, fenced by it,
        in one bulk write.
        """
        _aware("now", now)
        distinct_campaigns([(campaign, 0) for campaign in campaigns])
        recovered: dict[str, list[Contact]] = {campaign.id: [] for campaign in campaigns}
        if not campaigns:
            return recovered
        by_id = {campaign.id: campaign for campaign in campaigns}
        token = secrets.token_hex(16)
        claimed = self._contacts.update_many(
            # MongoDB plans this on the `lease_expiry` index whatever the keys' order;
            # SecantusDB plans by their order, and with `campaign_id` first took ~20 s at
            # 1,000 campaigns against ~0.6 s with `state` first.
            {
                "state": {"$in": IN_CALL},
                "lease.expires_at": {"$lte": now},
                "campaign_id": {"$in": list(by_id)},
            },
            {
                "$set": {
                    "lease.owner": RECOVERY_OWNER,
                    "lease.token": token,
                    "lease.expires_at": to_millis(now + RECOVERY_TTL),
                }
            },
        )
        if not claimed.matched_count:
            return recovered
        found = self._contacts.find({"lease.token": token}).sort(
            [("next_attempt_at", 1), ("_id", 1)]
        )
        for document in found:
            contact = from_document(document, Contact)
            campaign = by_id[contact.campaign_id]
            recovered[campaign.id].append(self._closed(contact, campaign, Disposition.FAILED, now))
        self._contacts.bulk_write(
            [
                UpdateOne({"_id": done.id, "lease.token": token}, self._closing(done))
                for closed in recovered.values()
                for done in closed
            ],
            ordered=False,
        )
        return recovered

    # -- leasing ---------------------------------------------------------------------------------

    def _pick_many(
        self, wanted: Sequence[tuple[Campaign, int]], now: datetime
    ) -> tuple[dict[str, list[Contact]], dict[str, list[str]]]:
        """Per campaign, the first `n` contacts the reference would lease now, in lease order,
        and the ids of those on the DNC list met before the `n`th (to become DNC).

        Candidates come in pages a little larger than `n`, since some may be outside their window
        or on the DNC list; a page that yields too few is followed by one twice its size, so a
        campaign whose first contacts are all asleep costs a few round trips more, not one per
        contact. Each round of pages is checked against the DNC lists in one query.
        """
        picked: dict[str, list[Contact]] = {campaign.id: [] for campaign, _ in wanted}
        blocked: dict[str, list[str]] = {campaign.id: [] for campaign, _ in wanted}
        pages: dict[str, _Page] = {
            campaign.id: (campaign, n, None, 2 * n + 8) for campaign, n in wanted if n > 0
        }
        while pages:
            fetched: dict[str, list[Contact]] = {}
            open_now: dict[str, list[Contact]] = {}
            phones: dict[str, list[str]] = {}
            for key, (campaign, _, after, size) in pages.items():
                fetched[key] = self._candidates(campaign, now, after, size)
                open_now[key] = [
                    contact
                    for contact in fetched[key]
                    if is_open(campaign.window, contact_timezone(contact, campaign), now)
                ]
                phones.setdefault(campaign.tenant_id, []).extend(c.phone for c in open_now[key])
            listed = self._dnc.blocked_many(phones)
            more: dict[str, _Page] = {}
            for key, (campaign, n, _, size) in pages.items():
                on_list = listed.get(campaign.tenant_id, frozenset())
                for contact in open_now[key]:
                    if contact.phone in on_list:
                        blocked[key].append(contact.id)
                        continue
                    picked[key].append(contact)
                    if len(picked[key]) == n:
                        break
                page = fetched[key]
                if len(picked[key]) < n and len(page) == size:
                    more[key] = (campaign, n, (page[-1].next_attempt_at, page[-1].id), 2 * size)
            pages = more
        return picked, blocked

    def _candidates(
        self, campaign: Campaign, now: datetime, after: tuple[datetime, str] | None, size: int
    ) -> list[Contact]:
        query = eligible_filter(campaign, now)
        if after is not None:
            at, contact_id = after
            query["$and"] = [
                {
                    "$or": [
                        {"next_attempt_at": {"$gt": at}},
                        {"next_attempt_at": at, "_id": {"$gt": contact_id}},
                    ]
                }
            ]
        # The agent's variables can be large and are not needed to decide a lease.
        found = (
            self._contacts.find(query, {"variables": 0})
            .sort([("next_attempt_at", 1), ("_id", 1)])
            .limit(size)
            .batch_size(size)  # the whole page in one reply, not 101 documents and a getMore
        )
        return [from_document(document, Contact) for document in found]

    def _take_many(
        self,
        campaigns: Mapping[str, Campaign],
        offered: Mapping[str, list[Lease]],
        blocked: Mapping[str, list[str]],
        now: datetime,
    ) -> dict[str, list[Lease]]:
        """Per campaign, those of `offered` whose contact was still eligible, now leased under
        them; the `blocked` ones made DNC. One bulk write; a read back only if it matched fewer
        than it asked for (another leaser got some first)."""
        operations: list[UpdateMany] = []
        asked = 0
        for key, ids in blocked.items():
            if ids:
                operations.append(
                    UpdateMany(
                        {"_id": {"$in": ids}, **eligible_filter(campaigns[key], now)},
                        {"$set": {"state": ContactState.DNC.value, "lease": None}},
                    )
                )
                asked += len(ids)
        for key, leases in offered.items():
            if leases:
                operations.append(self._taking(campaigns[key], leases, now))
                asked += len(leases)
        if not operations:
            return {key: [] for key in offered}
        result = self._contacts.bulk_write(operations, ordered=True)
        if result.matched_count == asked:
            return {key: list(leases) for key, leases in offered.items()}
        # Someone leased some of them first: read back which ones carry our tokens.
        tokens = [lease.token for leases in offered.values() for lease in leases]
        held = {
            (document["_id"], document["lease"]["token"])
            for document in self._contacts.find({"lease.token": {"$in": tokens}}, {"lease": 1})
        }
        return {
            key: [lease for lease in leases if (lease.contact_id, lease.token) in held]
            for key, leases in offered.items()
        }

    @staticmethod
    def _taking(campaign: Campaign, offered: list[Lease], now: datetime) -> UpdateMany:
        """The write that leases each of `offered` to its contact if it is still eligible."""
        ids = [lease.contact_id for lease in offered]
        tokens = [lease.token for lease in offered]
        template = offered[0]  # one batch: one owner, one expiry
        return UpdateMany(
            {"_id": {"$in": ids}, **eligible_filter(campaign, now)},
            [
                {
                    "$set": {
                        "state": {"$literal": ContactState.LEASED.value},
                        "lease": {
                            "shard": {"$literal": template.shard},
                            "leader_token": {"$literal": template.leader_token},
                            "owner": {"$literal": template.owner},
                            "token": {
                                "$arrayElemAt": [
                                    {"$literal": tokens},
                                    {"$indexOfArray": [{"$literal": ids}, "$_id"]},
                                ]
                            },
                            "expires_at": template.expires_at,
                        },
                    }
                }
            ],
        )

    # -- fenced writes ---------------------------------------------------------------------------

    def _fenced(self, lease: Lease, now: datetime) -> Contact:
        """The contact `lease` holds; `StaleLease` with the reference's reason if it holds none."""
        document = self._contacts.find_one({"_id": lease.contact_id})
        if document is None:
            raise StaleLease(lease.contact_id, "no such contact")
        contact = from_document(document, Contact)
        check_fence(contact, lease, now)
        return contact

    def _fenced_write(
        self,
        lease: Lease,
        now: datetime,
        expected: ContactState | None,
        update: Document,
        wanted: str = "",
    ) -> None:
        """Apply `update` if `lease` is the live lease on its contact and the contact is in state
        `expected` (any state if None). One round trip when it applies; otherwise the contact is
        read to raise `StaleLease`, or `InvalidTransition` to `wanted`, as the reference would."""
        guard = _fence(lease, now)
        if expected is not None:
            guard["state"] = expected.value
        for _ in range(_WRITE_ATTEMPTS):
            if self._contacts.update_one(guard, update).matched_count:
                return
            contact = self._fenced(lease, now)
            if expected is not None and contact.state is not expected:
                raise InvalidTransition("contact", contact.state.value, wanted)
        raise RuntimeError(f"contact {lease.contact_id} kept changing under a fenced write")

    @staticmethod
    def _closed(
        contact: Contact, campaign: Campaign, disposition: Disposition, now: datetime
    ) -> Contact:
        """`contact` after an attempt that ended with `disposition`, as the reference closes it."""
        step = next_step(contact, campaign, disposition, now)
        return attrs.evolve(
            contact,
            state=step.state,
            next_attempt_at=to_millis(step.next_attempt_at or contact.next_attempt_at),
            lease=None,
            last_disposition=disposition,
        )

    @staticmethod
    def _closing(closed: Contact) -> Document:
        return {
            "$set": {
                "state": closed.state.value,
                "next_attempt_at": closed.next_attempt_at,
                "lease": None,
                "last_disposition": None
                if closed.last_disposition is None
                else closed.last_disposition.value,
            }
        }
