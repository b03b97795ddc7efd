"""The platform's values: tenants, campaigns, contacts, leases, call attempts and slots.

Every value is frozen and checks itself when built: a bad phone number, a calling window that
ends before it starts or a weight of zero raise `ValidationError` naming the field, so an API can
turn it into a 4xx without knowing the rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum

import attrs

from voxcore_domain import validators as v
from voxcore_domain.errors import InvalidTransition, ValidationError

# -- tenants -----------------------------------------------------------------------------------


@attrs.frozen
class Tenant:
    """A customer of the platform; capacity is shared between tenants by `weight`."""

    id: str = attrs.field(validator=v.non_empty)
    name: str = attrs.field(validator=v.non_empty)
    weight: float = attrs.field(default=1.0, validator=v.positive)
    """Share of the platform's slots against other tenants."""
    max_concurrency: int | None = attrs.field(default=None, validator=v.optional(v.positive_int))
    """Most calls this tenant may hold at once across all campaigns; None for no cap."""


# -- campaigns ---------------------------------------------------------------------------------


class CampaignState(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"


CAMPAIGN_TRANSITIONS: Mapping[CampaignState, frozenset[CampaignState]] = {
    CampaignState.DRAFT: frozenset({CampaignState.RUNNING, CampaignState.COMPLETED}),
    CampaignState.RUNNING: frozenset({CampaignState.PAUSED, CampaignState.COMPLETED}),
    CampaignState.PAUSED: frozenset({CampaignState.RUNNING, CampaignState.COMPLETED}),
    CampaignState.COMPLETED: frozenset(),
}


def _weekdays(value: Iterable[int]) -> frozenset[int]:
    # A typed converter: with plain `frozenset`, mypy's attrs plugin loses the element type.
    return frozenset(value)


def _campaign_state(value: object) -> CampaignState:
    return v.member(CampaignState, "state", value)


@attrs.frozen
class CallingWindow:
    """Local hours in which a contact may be called: [start, end) on the given ISO weekdays."""

    start: time = attrs.field(default=time(8, 0))
    end: time = attrs.field(default=time(21, 0))
    weekdays: frozenset[int] = attrs.field(default=frozenset(range(1, 8)), converter=_weekdays)
    """ISO weekdays (1 = Monday … 7 = Sunday) on which the window opens."""

    @end.validator
    def _end_after_start(self, attribute: attrs.Attribute[time], value: time) -> None:
        if value <= self.start:
            raise ValidationError(
                attribute.name, f"window end {value} must be after its start {self.start}"
            )

    @weekdays.validator
    def _valid_weekdays(
        self, attribute: attrs.Attribute[frozenset[int]], value: frozenset[int]
    ) -> None:
        if not value or not value <= frozenset(range(1, 8)):
            raise ValidationError(attribute.name, "must be a non-empty set of ISO weekdays 1..7")


class PacingKind(StrEnum):
    PREVIEW = "preview"
    PROGRESSIVE = "progressive"
    RATIO = "ratio"
    VICIDIAL = "vicidial"
    PREDICTIVE = "predictive"


@attrs.frozen
class PacingMode:
    """How a campaign paces its dials; parse one from `"ratio:2.5"`-style text with `parse`."""

    kind: PacingKind
    ratio: float | None = None
    """Dials per free slot, for `ratio` only."""

    def __attrs_post_init__(self) -> None:
        if self.kind is PacingKind.RATIO:
            if self.ratio is None or not self.ratio > 0:
                raise ValidationError(
                    "pacing_mode", "ratio mode needs a ratio above 0, e.g. ratio:2"
                )
        elif self.ratio is not None:
            raise ValidationError("pacing_mode", f"{self.kind} takes no ratio")

    @classmethod
    def parse(cls, text: str) -> PacingMode:
        name, _, argument = text.strip().partition(":")
        try:
            kind = PacingKind(name)
        except ValueError:
            allowed = ", ".join(k.value for k in PacingKind)
            raise ValidationError("pacing_mode", f"{text!r} is not one of {allowed}") from None
        if kind is PacingKind.RATIO:
            try:
                return cls(kind, float(argument))
            except ValueError:
                raise ValidationError("pacing_mode", f"{text!r}: ratio must be a number") from None
        if argument:
            raise ValidationError("pacing_mode", f"{text!r}: {kind} takes no argument")
        return cls(kind)

    def __str__(self) -> str:
        return f"ratio:{self.ratio:g}" if self.kind is PacingKind.RATIO else self.kind.value


def _pacing_mode(value: PacingMode | str) -> PacingMode:
    return value if isinstance(value, PacingMode) else PacingMode.parse(value)


@attrs.frozen
class PacingSettings:
    """A campaign's pacing: the strategy and the abandon rate it must stay under."""

    mode: PacingMode = attrs.field(
        factory=lambda: PacingMode(PacingKind.PREDICTIVE), converter=_pacing_mode
    )
    abandon_target: float = attrs.field(default=0.03)
    """Most abandoned calls per live answer, counted over 30 days and per day (FCC/Ofcom: 3 %)."""
    ring_timeout_s: float = attrs.field(default=25.0)
    """How long a dial rings before it counts as no answer; the rules ask for at least 15 s."""

    @abandon_target.validator
    def _target(self, attribute: attrs.Attribute[float], value: float) -> None:
        if not 0.0 < value < 1.0:
            raise ValidationError(attribute.name, f"must be between 0 and 1, got {value!r}")

    @ring_timeout_s.validator
    def _ring(self, attribute: attrs.Attribute[float], value: float) -> None:
        if not 15.0 <= value <= 120.0:
            raise ValidationError(attribute.name, f"must be 15 to 120 seconds, got {value!r}")


ABANDON_REDIAL_FLOOR = timedelta(hours=72)
"""Ofcom: a number whose call was abandoned is not called again within 72 hours."""


@attrs.frozen
class RetryPolicy:
    """When a contact is called again after each kind of unfinished attempt."""

    max_attempts: int = attrs.field(default=3)
    """Dial attempts before the contact is exhausted."""
    no_answer_after: timedelta = attrs.field(default=timedelta(hours=4))
    busy_after: timedelta = attrs.field(default=timedelta(minutes=30))
    failed_after: timedelta = attrs.field(default=timedelta(minutes=15))
    declined_after: timedelta = attrs.field(default=timedelta(hours=24))
    voicemail_after: timedelta = attrs.field(default=timedelta(hours=24))
    abandoned_after: timedelta = attrs.field(default=ABANDON_REDIAL_FLOOR)
    """Never below 72 hours."""

    @max_attempts.validator
    def _attempts(self, attribute: attrs.Attribute[int], value: int) -> None:
        if not isinstance(value, int) or not 1 <= value <= 100:
            raise ValidationError(attribute.name, f"must be 1 to 100, got {value!r}")

    @no_answer_after.validator
    @busy_after.validator
    @failed_after.validator
    @declined_after.validator
    @voicemail_after.validator
    def _delay(self, attribute: attrs.Attribute[timedelta], value: timedelta) -> None:
        if value < timedelta(0):
            raise ValidationError(attribute.name, f"must not be negative, got {value}")

    @abandoned_after.validator
    def _abandon_floor(self, attribute: attrs.Attribute[timedelta], value: timedelta) -> None:
        if value < ABANDON_REDIAL_FLOOR:
            raise ValidationError(attribute.name, f"must be at least 72 hours, got {value}")


@attrs.frozen
class Campaign:
    """An outbound calling campaign of one tenant, run by one voice agent over one trunk."""

    id: str = attrs.field(validator=v.non_empty)
    tenant_id: str = attrs.field(validator=v.non_empty)
    name: str = attrs.field(validator=v.non_empty)
    agent_id: str = attrs.field(validator=v.non_empty)
    """The voice agent configuration that runs each call."""
    trunk_id: str = attrs.field(validator=v.non_empty)
    """The SIP trunk the calls go out on."""
    caller_id: str = attrs.field(validator=v.e164)
    window: CallingWindow = attrs.field(factory=CallingWindow)
    timezone: str = attrs.field(default="UTC", validator=v.timezone)
    """Time zone for contacts that do not carry their own."""
    pacing: PacingSettings = attrs.field(factory=PacingSettings)
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    weight: float = attrs.field(default=1.0, validator=v.positive)
    """Share of its tenant's slots against the tenant's other campaigns."""
    max_concurrency: int | None = attrs.field(default=None, validator=v.optional(v.positive_int))
    state: CampaignState = attrs.field(default=CampaignState.DRAFT, converter=_campaign_state)
    abandon_message: str | None = None
    """What the abandon path says before it hangs up (Ofcom: who called and how to call back);
    None hangs up in silence."""

    def transition(self, wanted: CampaignState) -> Campaign:
        """This campaign in state `wanted`, or `InvalidTransition` if the lifecycle forbids it."""
        if wanted not in CAMPAIGN_TRANSITIONS[self.state]:
            raise InvalidTransition("campaign", self.state.value, CampaignState(wanted).value)
        return attrs.evolve(self, state=wanted)


# -- contacts, leases and attempts ---------------------------------------------------------------


class ContactState(StrEnum):
    READY = "ready"
    LEASED = "leased"
    DIALING = "dialing"
    ANSWERED = "answered"
    ATTACHED = "attached"
    DONE = "done"
    EXHAUSTED = "exhausted"
    DNC = "dnc"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES

    @property
    def in_call(self) -> bool:
        """A dial may have reached the phone network: the contact must not be dialled again
        until the attempt's outcome is recorded or recovered."""
        return self in (ContactState.DIALING, ContactState.ANSWERED, ContactState.ATTACHED)


TERMINAL_STATES = frozenset({ContactState.DONE, ContactState.EXHAUSTED, ContactState.DNC})


def _contact_state(value: object) -> ContactState:
    return v.member(ContactState, "state", value)


class Disposition(StrEnum):
    """How one call attempt ended."""

    COMPLETED = "completed"
    TRANSFERRED = "transferred"
    HUNG_UP = "hung_up"
    """The callee hung up during the conversation."""
    VOICEMAIL = "voicemail"
    ABANDONED = "abandoned"
    """Answered, but no worker took the call within 2 s: message played, call ended."""
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    DECLINED = "declined"
    FAILED = "failed"
    """Carrier or platform failure, or an attempt whose outcome was lost with its dialler."""
    INVALID_NUMBER = "invalid_number"

    @property
    def answered(self) -> bool:
        return self in ANSWERED_DISPOSITIONS


ANSWERED_DISPOSITIONS = frozenset(
    {
        Disposition.COMPLETED,
        Disposition.TRANSFERRED,
        Disposition.HUNG_UP,
        Disposition.VOICEMAIL,
        Disposition.ABANDONED,
    }
)


@attrs.frozen
class Lease:
    """A contact held by one dialler until `expires_at`."""

    contact_id: str
    owner: str
    """Which dialler holds it."""
    token: str
    """Fences every later write: a write with another token is refused."""
    expires_at: datetime = attrs.field(validator=v.aware)
    shard: str | None = None
    """The dialler shard whose leader took the lease; None for a lease taken outside one."""
    leader_token: int | None = None
    """That leader's fencing token. A write carrying it is refused once a newer leader of the
    shard has taken the contact over (`ContactLeases.take_over`)."""


def _variables(value: Mapping[str, str]) -> dict[str, str]:
    # A typed converter: with plain `dict`, mypy's attrs plugin cannot match a dict argument.
    return dict(value)


@attrs.frozen
class Contact:
    """One person a campaign will call, with where they are in the contact lifecycle."""

    id: str = attrs.field(validator=v.non_empty)
    campaign_id: str = attrs.field(validator=v.non_empty)
    tenant_id: str = attrs.field(validator=v.non_empty)
    phone: str = attrs.field(validator=v.e164)
    next_attempt_at: datetime = attrs.field(validator=v.aware)
    """Not dialled before this instant."""
    timezone: str | None = attrs.field(default=None, validator=v.timezone)
    """The callee's time zone; None means the campaign's."""
    variables: Mapping[str, str] = attrs.field(factory=dict, converter=_variables)
    """Values the voice agent's script can use (name, amount due, …)."""
    state: ContactState = attrs.field(default=ContactState.READY, converter=_contact_state)
    attempts: int = attrs.field(default=0, validator=v.non_negative)
    lease: Lease | None = None
    last_disposition: Disposition | None = None


class CallOrigin(StrEnum):
    """How a call came to be, and so what it belongs to."""

    CAMPAIGN = "campaign"
    """The dialler dialled a campaign's contact."""
    INBOUND = "inbound"
    """A caller rang one of the tenant's inbound numbers."""
    DIALOUT = "dialout"
    """A fleet worker placed one call on request (`POST /livekit/dialout`), outside any
    campaign."""
    WIDGET = "widget"
    """A browser talked to the agent (`POST /livekit/widget`), outside any campaign."""


STANDALONE = frozenset({CallOrigin.DIALOUT, CallOrigin.WIDGET})
"""Calls a fleet worker starts itself: no campaign, no contact, no lease. The worker's first
report of such a call records its attempt."""


def _call_origin(value: object) -> CallOrigin:
    return v.member(CallOrigin, "origin", value)


@attrs.frozen
class CallAttempt:
    """One dial of one contact and what became of it; for a stand-alone call (`STANDALONE`),
    one call of a tenant outside any campaign, with `campaign_id`, `contact_id` and
    `lease_token` empty."""

    id: str
    contact_id: str
    campaign_id: str
    tenant_id: str
    number: int
    """1 for the contact's first attempt."""
    lease_token: str
    dialed_at: datetime = attrs.field(validator=v.aware)
    answered_at: datetime | None = attrs.field(default=None, validator=v.aware)
    attached_at: datetime | None = attrs.field(default=None, validator=v.aware)
    ended_at: datetime | None = attrs.field(default=None, validator=v.aware)
    disposition: Disposition | None = None
    worker: str | None = None
    """The fleet worker (host/slot) that took the call."""
    not_placed: str | None = None
    """Why the provider turned the dial down before it could reach anyone (`throttled`,
    `refused`, `provider_error`); None for a dial that was placed. Such a record is no attempt:
    the contact's attempt count is taken back and no rate counts it."""
    origin: CallOrigin = attrs.field(default=CallOrigin.CAMPAIGN, converter=_call_origin)
    """How the call came to be; only a campaign's calls close a contact."""


# -- call slots --------------------------------------------------------------------------------


class SlotState(StrEnum):
    IDLE = "idle"
    BUSY = "busy"
    DRAINING = "draining"


def _slot_state(value: object) -> SlotState:
    return v.member(SlotState, "state", value)


@attrs.frozen
class Slot:
    """One fleet worker: a process that runs at most one call."""

    host: str = attrs.field(validator=v.non_empty)
    worker: str = attrs.field(validator=v.non_empty)
    state: SlotState = attrs.field(converter=_slot_state)
    heartbeat_at: datetime = attrs.field(validator=v.aware)
    call_id: str | None = None
    busy_since: datetime | None = attrs.field(default=None, validator=v.aware)
    """When the call in progress was attached; None when idle."""


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A UTC instant; shorthand for tests, examples and notebooks."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)
