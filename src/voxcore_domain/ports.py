"""The domain's ports: what it needs from the outside world, as small `typing.Protocol`s.

Each port has an in-memory fake in `voxcore_adapters.fakes` and a real adapter (MongoDB, Redis,
LiveKit, S3); one contract suite runs against both. Stores backed by pymongo are synchronous;
ports that wait on the network for seconds (telephony, the fleet, Redis) are `async`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol, runtime_checkable

import attrs

from voxcore_domain.agents import Agent
from voxcore_domain.apikeys import ApiKey
from voxcore_domain.callevents import CallEvent, StreamedEvent
from voxcore_domain.callreports import CallReport
from voxcore_domain.callstats import CallTally
from voxcore_domain.errors import DomainError, ValidationError
from voxcore_domain.inbound import InboundNumber
from voxcore_domain.leadership import Fence
from voxcore_domain.model import (
    CallAttempt,
    Campaign,
    CampaignState,
    Contact,
    ContactState,
    Disposition,
    Lease,
    Slot,
    Tenant,
)
from voxcore_domain.ratelimit import Admission, TokenBucket
from voxcore_domain.trunks import FleetHost, Trunk
from voxcore_domain.voice.agent_config import AgentConfig
from voxcore_domain.voice.call import CallOutcome, CallSetup, LegEvent
from voxcore_domain.voice.report import WorkerReport


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

    def get(self, call_id: str) -> CallAttempt | None:
        """The attempt with that call id, if any."""
        ...


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
    """E.164, or empty for the trunk's own number."""
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


# -- stores the control plane writes (MongoDB in production) -------------------------------------


class Tenants(Protocol):
    def put(self, tenant: Tenant) -> None:
        """Insert the tenant, or replace the one with its id."""
        ...

    def get(self, tenant_id: str) -> Tenant | None: ...

    def all(self) -> list[Tenant]:
        """Every tenant, ordered by id."""
        ...


class CampaignStore(Campaigns, Protocol):
    """Campaigns as the API writes them; the dialler only reads them, through `Campaigns`."""

    def put(self, campaign: Campaign) -> None:
        """Insert the campaign, or replace the one with its id."""
        ...

    def set_state(self, campaign_id: str, wanted: CampaignState) -> Campaign:
        """Move a campaign along its lifecycle, as `Campaign.transition` allows, atomically
        against concurrent changes; `ValidationError` on `campaign_id` if there is no such
        campaign, `InvalidTransition` if the move is not allowed."""
        ...

    def of_tenant(self, tenant_id: str) -> list[Campaign]:
        """The tenant's campaigns, ordered by id."""
        ...


class DncList(Protocol):
    """Each tenant's do-not-call numbers; `ContactLeases.lease` checks them."""

    def add(self, tenant_id: str, phones: Sequence[str]) -> int:
        """Add E.164 numbers (`ValidationError` on `phone` otherwise); how many were new."""
        ...

    def remove(self, tenant_id: str, phone: str) -> bool:
        """Take a number off the list; whether it was on it."""
        ...

    def blocked(self, tenant_id: str, phones: Sequence[str]) -> frozenset[str]:
        """Those of `phones` on the tenant's list."""
        ...


@attrs.frozen
class DuplicateRow:
    """A row of a contact import that was not stored because it repeats a stored contact."""

    row: int
    """Its index in the imported sequence."""
    contact_id: str
    phone: str
    field: str
    """`id` if a contact with its id exists, else `phone`: its campaign already has the number."""


@attrs.frozen
class ImportReport:
    inserted: tuple[str, ...]
    """Ids of the stored contacts, in row order."""
    duplicates: tuple[DuplicateRow, ...]
    """The rows left out, in row order."""


class ContactImport(Protocol):
    def import_contacts(self, contacts: Sequence[Contact]) -> ImportReport:
        """Store new contacts. A row repeating a stored contact's id, or a number its campaign
        already has (also from an earlier row of the same import), is reported, not fatal."""
        ...


# -- shared live state in Redis: rate limits and call events --------------------------------------


class RateLimiter(Protocol):
    """Token buckets shared by every dialler, e.g. carrier calls per second per trunk."""

    async def take(self, key: str, bucket: TokenBucket, cost: int = 1) -> Admission:
        """Take `cost` tokens from the bucket named `key` now, or learn how long to wait."""
        ...


class CallEvents(Protocol):
    """Each campaign's recent call events, oldest first; the oldest are trimmed away."""

    async def publish(self, event: CallEvent) -> str:
        """Append `event` to its campaign's stream; returns its stream id."""
        ...

    async def read(
        self,
        campaign_id: str,
        after: str = "0-0",
        count: int = 100,
        wait: timedelta | None = None,
    ) -> list[StreamedEvent]:
        """Up to `count` events with ids after `after`. With `wait`, when there are none yet,
        wait up to that long for the first to arrive."""
        ...

    async def last_id(self, campaign_id: str) -> str:
        """The newest event's id, `0-0` when there is none: read after it to see only new
        events."""
        ...


# -- recordings (S3/MinIO) and telephony (LiveKit SIP) ---------------------------------------------


class RecordingNotFound(DomainError):
    """No recording is stored under `key` (an API answers 404)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no recording at {key!r}")
        self.key = key


@attrs.frozen
class RecordingInfo:
    """One stored recording of a call, filed under `<tenant_id>/<call_id>/<name>`."""

    key: str
    tenant_id: str
    call_id: str
    campaign_id: str | None
    """From the object's metadata; None for a file stored without it (e.g. by LiveKit egress)."""
    content_type: str
    size: int


class CallRecordings(RecordingStore, Protocol):
    """Recordings filed by tenant and call, each carrying its tenant, campaign and call ids.

    `get` and `url` raise `RecordingNotFound` for a key nothing is stored under; bad ids, names,
    keys or expiries raise `ValidationError` naming the argument.
    """

    def put_recording(
        self,
        tenant_id: str,
        campaign_id: str,
        call_id: str,
        name: str,
        data: bytes,
        content_type: str = "audio/wav",
    ) -> RecordingInfo:
        """Store one recording of a call (a WAV must be one); replaces one with the same name."""
        ...

    def for_call(self, tenant_id: str, call_id: str) -> list[RecordingInfo]:
        """The call's recordings ordered by key; empty when it has none."""
        ...


class TelephonyError(DomainError):
    """The provider turned a request down, or failed it, for a reason that is not the callee's.

    Raised by a dial, it means the callee had no say in the outcome (nothing was dialled, or
    the dial was ended before anyone could answer): give the contact back unattempted
    (`ContactLeases.release`) instead of counting an attempt.
    """

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        """The provider's own error code (a Twirp code for LiveKit), when it gave one."""


class TelephonyRefused(TelephonyError):
    """Credentials, grants or the trunk's configuration were refused: every dial will fail the
    same way until an operator fixes it, so stop dialling and alert."""


class TrunkThrottled(TelephonyError):
    """The trunk's calls-per-second or concurrent-call limit turned the dial away: back off this
    trunk for `retry_after_s`, then dial the contact again."""

    def __init__(
        self,
        trunk_id: str,
        message: str,
        *,
        retry_after_s: float,
        sip_status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(f"trunk {trunk_id}: {message}", code=code)
        self.trunk_id = trunk_id
        self.retry_after_s = retry_after_s
        self.sip_status = sip_status


@attrs.frozen
class TransferResult:
    """What became of handing a live call to another number."""

    failure: Disposition | None = None
    """None when the target took the call, else why not: busy, no_answer, declined,
    invalid_number or failed."""
    sip_status: int | None = None

    @property
    def completed(self) -> bool:
        return self.failure is None


class CallControl(Telephony, Protocol):
    """Telephony with the in-call controls a fleet worker needs; `hang_up` is idempotent."""

    async def transfer(
        self, call_id: str, room: str, to: str, ring_timeout_s: float = 30.0
    ) -> TransferResult:
        """Hand the call's phone leg to `to` (E.164 or a `sip:` URI) and wait until the target
        answers or fails; the call leaves the room when the transfer completes."""
        ...


# -- the control plane's own reads and writes: API keys, contact listings ------------------------


MAX_PAGE = 1000
"""Most contacts one `ContactDirectory.page` returns."""


class ApiKeys(Protocol):
    """Tenants' API keys, looked up by id (the id is the public part of a key's token)."""

    def add(self, key: ApiKey) -> None:
        """Store a new key; `ValidationError` on `id` if a key with its id exists."""
        ...

    def get(self, key_id: str) -> ApiKey | None: ...

    def of_tenant(self, tenant_id: str) -> list[ApiKey]:
        """The tenant's keys, revoked ones included, oldest first (then by id)."""
        ...

    def revoke(self, key_id: str, at: datetime) -> ApiKey | None:
        """Revoke the key at `at` (a revoked key keeps its first revocation time); the key as
        stored now, None if there is no such key."""
        ...


class ContactDirectory(Protocol):
    """A campaign's contacts as an operator browses them, in id order."""

    def page(
        self,
        campaign_id: str,
        *,
        state: ContactState | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[Contact]:
        """Up to `limit` (1 to `MAX_PAGE`, else `ValidationError` on `limit`) of the campaign's
        contacts with ids greater than `after`, in `state` when it is given, ordered by id."""
        ...

    def state_counts(self, campaign_id: str) -> dict[ContactState, int]:
        """How many of the campaign's contacts are in each state; every state is a key."""
        ...


class Agents(Protocol):
    """Voice agent configurations; fleet workers read them through the runtime-config API."""

    def put(self, agent: Agent) -> None:
        """Insert the agent, or replace the one with its id."""
        ...

    def replace(self, agent: Agent, expected_version: int) -> bool:
        """Store `agent` over the one with its id only if that one is still at
        `expected_version`; whether it was stored. Two edits read at the same version cannot
        both win, so neither silently undoes the other."""
        ...

    def get(self, agent_id: str) -> Agent | None: ...

    def of_tenant(self, tenant_id: str) -> list[Agent]:
        """The tenant's agents, ordered by id."""
        ...

    def delete(self, agent_id: str) -> bool:
        """Remove the agent; whether it existed."""
        ...


# -- the call a fleet worker runs: its media leg, the pipeline that talks on it, its slot --------


class CallLeg(Protocol):
    """One party's media on a call (a carrier's WebSocket stream, a LiveKit room): what they say
    and press comes in, what the agent says goes out. Audio is 8 kHz mono 16-bit PCM both ways;
    the leg's adapter converts to and from its wire format."""

    async def receive(self) -> LegEvent:
        """The next event; `Hangup` once the leg has ended, and again on every later call."""
        ...

    async def play(self, pcm: bytes, mark: str) -> None:
        """Queue `pcm` at the far end, then `mark`, which comes back as `Played` once the far end
        has played everything before it."""
        ...

    async def clear(self) -> None:
        """Drop the audio queued at the far end and not yet played (barge-in)."""
        ...

    async def hang_up(self) -> None:
        """End the leg from our side; idempotent."""
        ...


@runtime_checkable
class TransferringLeg(CallLeg, Protocol):
    """A leg whose caller can be handed to another number (a LiveKit room's phone leg)."""

    @property
    def can_transfer(self) -> bool:
        """False for a caller no transfer can reach (a browser, a leg without telephony)."""
        ...

    async def transfer(self, to: str) -> TransferResult:
        """Hand the caller to `to` (E.164 or `sip:`) and wait until the target answers or
        fails; after a completed transfer the leg has ended."""
        ...


class CallPipeline(Protocol):
    """The voice agent of a call: the deterministic scripted agent, or a speech/LLM provider."""

    async def run(self, call: CallSetup, leg: CallLeg) -> CallOutcome:
        """Talk with the party on `leg` until the call ends; hang up unless they did."""
        ...


class SpeechSynth(Protocol):
    """Text to speech for the agent's prompts."""

    async def render(self, text: str) -> bytes:
        """`text` spoken, as 8 kHz mono 16-bit PCM."""
        ...


class WorkerSlots(SlotRegistry, Protocol):
    """The slot registry as a fleet worker uses it: it also takes its slot out at a clean exit,
    so the dialler stops counting it at once instead of when its heartbeat expires."""

    async def remove(self, host: str, worker: str) -> None: ...


# -- the control plane's campaign edits ------------------------------------------------------------


class CampaignEdits(Protocol):
    """Changes to a campaign's settings that can never undo a lifecycle move."""

    def edit(self, campaign: Campaign) -> Campaign | None:
        """Write `campaign`'s settings over the stored campaign with its id and tenant, in one
        atomic write that keeps the stored state: only `CampaignStore.set_state` moves it, so an
        edit racing a pause cannot resume the campaign. The campaign as stored now; None if the
        tenant has no campaign with that id."""
        ...


# -- the dialler's reads of the contacts it leased -------------------------------------------------


class LeasedContacts(ContactLeases, Protocol):
    """`ContactLeases` as the dialler uses it: a lease names only the contact, so the dialler
    reads the contact (its number and script variables) before dialling it."""

    def get(self, contact_id: str) -> Contact | None: ...

    def undial(self, lease: Lease, now: datetime) -> None:
        """Give back a `dialing` contact whose dial the provider turned down before it could
        reach the callee (a `TelephonyError`, e.g. `TrunkThrottled`): ready again, the attempt
        that `advance` counted taken back, the lease dropped; fenced by the token.
        `InvalidTransition` from any other state: an answered or attached call did happen."""
        ...


# -- trunks and fleet hosts: where calls go out and where answered calls go ----------------------


class Trunks(Protocol):
    """Tenants' SIP trunks; the dialler reads them all, each tenant sees its own."""

    def put(self, trunk: Trunk) -> None:
        """Insert the trunk, or replace the one with its id."""
        ...

    def get(self, trunk_id: str) -> Trunk | None: ...

    def of_tenant(self, tenant_id: str) -> list[Trunk]:
        """The tenant's trunks, ordered by id."""
        ...

    def all(self) -> list[Trunk]:
        """Every tenant's trunks, ordered by id."""
        ...

    def delete(self, trunk_id: str) -> bool:
        """Remove the trunk; whether it existed."""
        ...


class FleetHosts(Protocol):
    """The platform's fleet hosts (the seed's "Backend's fleet list")."""

    def put(self, host: FleetHost) -> None:
        """Insert the host, or replace the one with its id."""
        ...

    def get(self, host_id: str) -> FleetHost | None: ...

    def all(self) -> list[FleetHost]:
        """Every host, ordered by id."""
        ...

    def delete(self, host_id: str) -> bool:
        """Remove the host; whether it existed."""
        ...


# -- what the API keeps of each call: the fleet's reports, searches and tallies --------------------


@attrs.frozen
class StoredReport:
    """A call report as stored, with whether its effects were applied."""

    report: CallReport
    applied: bool
    """Whether the attempt, the contact and the event stream were updated from it; False while
    it is being applied, or if the API stopped halfway (the worker's retry finishes the job)."""


class CallReports(Protocol):
    """The fleet's reports of each call, one per `(call_id, sequence)`, kept for call detail."""

    def add(self, report: CallReport) -> StoredReport | None:
        """Store a new report (not applied yet) and return None; if one with its key is stored,
        change nothing and return that one."""
        ...

    def mark_applied(self, call_id: str, sequence: int) -> None:
        """Note that the report's effects are in place."""
        ...

    def for_call(self, call_id: str) -> list[CallReport]:
        """The call's reports in sequence order; empty when there are none."""
        ...


MAX_CALLS_PAGE = 500
"""Most attempts one `CallHistory.search` returns."""


@attrs.frozen
class CallQuery:
    """Which of a tenant's call attempts to list, newest dial first."""

    tenant_id: str
    campaign_id: str | None = None
    disposition: Disposition | None = None
    since: datetime | None = None
    """Dialled at or after this instant."""
    until: datetime | None = None
    """Dialled before this instant."""
    before: tuple[datetime, str] | None = None
    """The cursor: only attempts ordered after this `(dialed_at, id)` (older, or as old with a
    smaller id)."""
    limit: int = 100

    def __attrs_post_init__(self) -> None:
        if isinstance(self.limit, bool) or not 1 <= self.limit <= MAX_CALLS_PAGE:
            raise ValidationError("limit", f"must be 1 to {MAX_CALLS_PAGE}, got {self.limit!r}")
        for name in ("since", "until"):
            instant = getattr(self, name)
            if instant is not None and instant.utcoffset() is None:
                raise ValidationError(name, "must be a timezone-aware instant")


class CallHistory(CallLog, Protocol):
    """The call log as the API reads and grows it."""

    def swap(self, expected: CallAttempt, new: CallAttempt) -> bool:
        """Store `new` over the attempt with its id only if that one still equals `expected`;
        whether it was stored. Two reports merged from the same read cannot both win, so
        neither undoes the other."""
        ...

    def tally(self, campaign_id: str, since: datetime, until: datetime) -> CallTally:
        """What became of the campaign's dials placed in [since, until)."""
        ...

    def search(self, query: CallQuery) -> list[CallAttempt]:
        """Up to `query.limit` attempts matching it, ordered by `dialed_at` then id, newest
        first."""

    def record_first(self, attempt: CallAttempt) -> CallAttempt:
        """Store `attempt` unless an attempt with its id exists (atomically: of two at once,
        one is stored); the stored one either way, never overwritten."""
        ...


# -- inbound calls: numbers that reach an agent, and webhooks acted on once ----------------------


class InboundNumbers(Protocol):
    """Tenants' inbound numbers; a number belongs to at most one entry platform-wide."""

    def add(self, entry: InboundNumber) -> bool:
        """Store a new entry; False (nothing stored) when its number is already taken."""
        ...

    def replace(self, entry: InboundNumber) -> bool:
        """Replace the entry with its id (its number unchanged); whether it existed."""
        ...

    def get(self, entry_id: str) -> InboundNumber | None: ...

    def by_number(self, number: str) -> InboundNumber | None:
        """The entry for a called number, if any."""
        ...

    def of_tenant(self, tenant_id: str) -> list[InboundNumber]:
        """The tenant's entries, ordered by id."""
        ...

    def delete(self, entry_id: str) -> bool:
        """Remove the entry; whether it existed."""
        ...


class EventDedupe(Protocol):
    """Remembers events acted on, so a webhook delivered twice has one effect."""

    async def claim(self, event_id: str, ttl: timedelta) -> bool:
        """True for the first claim of `event_id` within `ttl`; False while it is held."""
        ...

    async def release(self, event_id: str) -> None:
        """Forget a claim whose effect failed, so a redelivery can try again."""


# -- the platform-wide dial switch -----------------------------------------------------------------


class PauseSwitch(Protocol):
    """One switch for the whole platform: while paused, no dialler starts a new dial; calls in
    progress carry on. Every dialler reads it each tick."""

    async def paused(self) -> bool: ...

    async def set_paused(self, paused: bool) -> None:
        """Turn the pause on or off; `ValidationError` unless `paused` is a bool."""


# -- the dialler's leader fencing at the contact store ---------------------------------------------


class FencedContactLeases(LeasedContacts, Protocol):
    """`LeasedContacts` that refuses writes from a replaced leader.

    The store keeps each shard's newest leader token (`take_over`). Leases a leader takes carry
    its `Fence`; every later write with such a lease is refused (`StaleLease`) once a newer
    leader has taken the contact over, and `lease` itself raises `FencedOut` for an older token.
    A paused or partitioned old leader that wakes up after a standby took over can therefore
    neither lease, dial (the `dialing` write comes first) nor write a contact.
    """

    def lease(
        self,
        campaign: Campaign,
        n: int,
        owner: str,
        now: datetime,
        ttl: timedelta,
        fence: Fence | None = None,
    ) -> list[Lease]: ...

    def take_over(self, fence: Fence, now: datetime) -> list[Contact]:
        """Make `fence` its shard's leader and stamp every contact leased under the shard with
        its token; returns those contacts, ordered by id. `FencedOut` if the shard has already
        seen that token or a newer one."""
        ...

    def lease_many(
        self,
        wanted: Sequence[tuple[Campaign, int]],
        owner: str,
        now: datetime,
        ttl: timedelta,
        fence: Fence | None = None,
    ) -> dict[str, list[Lease]]:
        """`lease` for each campaign of `wanted` (each at most once), as if one after another
        in that order; every campaign id of `wanted` maps to its leases. All or nothing for the
        fence: `FencedOut` and no lease kept if a newer leader has taken the shard over. A
        dialler's tick: a few round trips for the whole batch beside one candidate read per
        campaign, where `lease` per campaign costs about four."""
        ...

    def recover_expired_many(
        self, campaigns: Sequence[Campaign], now: datetime
    ) -> dict[str, list[Contact]]:
        """`recover_expired` for each of `campaigns` (each at most once), as if one after
        another in that order; every campaign id maps to the contacts closed out. A fixed
        number of round trips for the batch, where `recover_expired` costs one per campaign
        even when nothing has expired."""
        ...

    def check_leader(self, fence: Fence) -> None:
        """`FencedOut` if a newer leader than `fence` has taken its shard over (`take_over`).
        One read: the dialler asks it before each call-log record of a call, so a replaced
        leader stops writing a call's record once its contact writes would be refused."""
        ...


class CallRooms(Protocol):
    """The telephony provider's rooms, for a new leader closing out calls a dead one left."""

    async def open_rooms(self, prefix: str) -> list[str]:
        """Names of the rooms that exist now and start with `prefix`."""
        ...


class AbandonMessages(Protocol):
    """Says a campaign's abandon message into an answered call nobody could take, before the
    dialler hangs up (Ofcom: an abandoned call plays a short message naming the caller)."""

    async def play(self, call_id: str, room: str, text: str) -> None:
        """Say `text` into the call's room and return once it has been played;
        `TelephonyError` if it could not be."""
        ...


class LeaderReissue(LeaderLock, Protocol):
    """A `LeaderLock` that can hand its live holder a token above a floor, for when a contact
    store has seen newer tokens than the lock remembers (e.g. Redis lost its counter)."""

    async def reissue(
        self, shard: str, owner: str, token: int, floor: int, ttl: timedelta
    ) -> int | None:
        """A new token above `floor` and every earlier one if `owner` with `token` still holds
        the shard (it keeps holding it, for `ttl`); else None."""


# -- fleet worker → API: call reports and runtime config -------------------------------------------


class ReportAnswer(StrEnum):
    ACCEPTED = "accepted"
    """A new report: the API recorded it (202)."""
    DUPLICATE = "duplicate"
    """The API already had this (`call_id`, `sequence`): nothing changed (200)."""


class ReportUndelivered(DomainError):
    """The report did not reach the API, or the API could not take it now (down, timing out,
    5xx, 429, a token it refuses): sending it again later may succeed."""


class ReportRejected(DomainError):
    """The API refused the report itself: no attempt for its call (404), or a bad body (400).
    `status` is the HTTP status; `field` names the refused field for a 400."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.field = field


class ReportSender(Protocol):
    """Where a fleet worker sends the reports of its calls (the API's call-event endpoint)."""

    async def send(self, report: WorkerReport) -> ReportAnswer:
        """Deliver `report`; `ReportUndelivered` or `ReportRejected` when it was not taken."""
        ...


class ConfigUnavailable(DomainError):
    """The runtime config could not be read now (the API is down, slow or failing)."""


class AgentConfigNotFound(DomainError):
    """The API has no agent with this id (404)."""

    def __init__(self, agent_id: str) -> None:
        super().__init__(f"no agent {agent_id!r}")
        self.agent_id = agent_id


class AgentConfigs(Protocol):
    """Where a fleet worker reads an agent's runtime config (the API's runtime-config route)."""

    async def get(self, agent_id: str) -> AgentConfig:
        """The agent's config now; `AgentConfigNotFound` or `ConfigUnavailable` otherwise."""
        ...


# -- trunk channels shared by every dialler --------------------------------------------------------


class TrunkChannels(Protocol):
    """The calls each trunk carries now, counted across every dialler process (shards share a
    trunk's channel limit). Each call holds its channel until released, or until `ttl` after
    its holder last claimed or held it: a dead dialler's channels free themselves."""

    async def claim(self, trunk_id: str, call_id: str, limit: int | None, ttl: timedelta) -> bool:
        """Take a channel for `call_id` if fewer than `limit` are held (None: no limit), or
        renew it if the call holds one already; whether it holds one now."""
        ...

    async def hold(self, trunk_id: str, call_ids: Sequence[str], ttl: timedelta) -> None:
        """Renew these calls' channels for `ttl` from now, taking any that expired meanwhile
        again whatever the limit (the call is on the trunk either way)."""
        ...

    async def release(self, trunk_id: str, call_id: str) -> None:
        """The call is over: free its channel (nothing if it holds none)."""
        ...

    async def in_use(self, trunk_ids: Sequence[str]) -> dict[str, int]:
        """Channels held now on each of these trunks."""
        ...

    async def close_out(self, trunk_id: str, call_ids: Sequence[str], barred: timedelta) -> int:
        """Calls another dialler closed out for their holder (a new leader taking a shard over
        ended them): free exactly their channels now, in one step, and for `barred` from now
        refuse every `claim` or `hold` of them, so their old holder (a paused dialler that
        thaws) cannot take them back. Other calls' channels are untouched. How many of them
        held a channel."""
        ...
