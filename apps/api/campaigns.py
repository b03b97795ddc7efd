"""`/v1/campaigns`: a tenant's outbound campaigns and their lifecycle.

`draft → running ⇄ paused → completed`: the moves are `start`, `pause`, `resume` and `complete`,
each a compare-and-set in the store through `Campaign.transition`, so a forbidden or lost move is
a 409 with the reason. `start` and `resume` are the same move (to `running`); both names exist
for the console's buttons. An edit (PATCH) never writes the state: it goes through
`CampaignEdits`, so an edit racing a pause cannot resume the campaign.
"""

from __future__ import annotations

from datetime import time, timedelta
from functools import partial
from typing import Annotated, Any

import attrs
import msgspec
from litestar import Controller, get, patch, post
from litestar.params import JSONBody

from apps.api.auth import allow
from apps.api.caller import Caller, Role
from apps.api.deps import Deps
from apps.api.errors import NotFound, responses
from apps.api.params import CallerArg, DepsArg, PathId
from apps.api.scope import check_campaign_trunk, check_own_agent, own_campaign, own_tenant_id
from apps.api.wire import Body, Name, Out, Ref, given, under
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import (
    CallingWindow,
    Campaign,
    CampaignState,
    PacingMode,
    PacingSettings,
    RetryPolicy,
)

_WINDOW = CallingWindow()
_PACING = PacingSettings()
_RETRY = RetryPolicy()

YEAR_S = 366 * 24 * 3600
Seconds = Annotated[float, msgspec.Meta(ge=0, le=YEAR_S)]
"""A delay in seconds; over a year is a mistake (and would overflow a duration)."""
Text = Annotated[str, msgspec.Meta(max_length=64)]
AbandonMessage = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"\S")]
"""Said in a few seconds (the dialler gives it 15 at most): who called and how to call back."""


def _time_of_day(field: str, text: str) -> time:
    try:
        parsed = time.fromisoformat(text)
    except ValueError:
        raise ValidationError(field, f"{text!r} is not a time of day like 08:30") from None
    if parsed.tzinfo is not None:
        raise ValidationError(field, "is local time in each contact's zone: give no offset")
    return parsed


class Window(Body):
    """Local hours in which contacts may be called: [start, end) on the ISO weekdays."""

    start: Text = _WINDOW.start.isoformat()
    end: Text = _WINDOW.end.isoformat()
    weekdays: list[int] = msgspec.field(default_factory=lambda: sorted(_WINDOW.weekdays))
    """1 = Monday … 7 = Sunday."""

    def to_domain(self) -> CallingWindow:
        with under("window"):
            return CallingWindow(
                _time_of_day("start", self.start), _time_of_day("end", self.end), self.weekdays
            )

    @classmethod
    def of(cls, window: CallingWindow) -> Window:
        return cls(
            start=window.start.isoformat(),
            end=window.end.isoformat(),
            weekdays=sorted(window.weekdays),
        )


class Pacing(Body):
    mode: Text = str(_PACING.mode)
    """`preview`, `progressive`, `ratio:<dials per free slot>`, `vicidial` or `predictive`."""
    abandon_target: float = _PACING.abandon_target
    """Most abandoned calls per live answer (0.03: the FCC's and Ofcom's 3 %)."""
    ring_timeout_s: float = _PACING.ring_timeout_s

    def to_domain(self) -> PacingSettings:
        with under("pacing", {"pacing_mode": "mode"}):
            return PacingSettings(
                PacingMode.parse(self.mode), self.abandon_target, self.ring_timeout_s
            )

    @classmethod
    def of(cls, pacing: PacingSettings) -> Pacing:
        return cls(
            mode=str(pacing.mode),
            abandon_target=pacing.abandon_target,
            ring_timeout_s=pacing.ring_timeout_s,
        )


_DELAYS = ("no_answer", "busy", "failed", "declined", "voicemail", "abandoned")


class Retry(Body):
    """When a contact is called again after each kind of unfinished attempt."""

    max_attempts: int = _RETRY.max_attempts
    no_answer_after_s: Seconds = _RETRY.no_answer_after.total_seconds()
    busy_after_s: Seconds = _RETRY.busy_after.total_seconds()
    failed_after_s: Seconds = _RETRY.failed_after.total_seconds()
    declined_after_s: Seconds = _RETRY.declined_after.total_seconds()
    voicemail_after_s: Seconds = _RETRY.voicemail_after.total_seconds()
    abandoned_after_s: Seconds = _RETRY.abandoned_after.total_seconds()
    """At least 72 hours (Ofcom)."""

    def to_domain(self) -> RetryPolicy:
        delays = {
            f"{kind}_after": timedelta(seconds=getattr(self, f"{kind}_after_s")) for kind in _DELAYS
        }
        with under("retry", {f"{kind}_after": f"{kind}_after_s" for kind in _DELAYS}):
            return RetryPolicy(max_attempts=self.max_attempts, **delays)

    @classmethod
    def of(cls, retry: RetryPolicy) -> Retry:
        delays = {
            f"{kind}_after_s": getattr(retry, f"{kind}_after").total_seconds() for kind in _DELAYS
        }
        return cls(max_attempts=retry.max_attempts, **delays)


class CampaignIn(Body):
    name: Name
    agent_id: Ref
    """The voice agent that runs each call: one of the tenant's agents (else 422)."""
    trunk_id: Ref
    """One of the tenant's enabled SIP trunks (`/v1/trunks`), which the calls go out on (else
    422)."""
    caller_id: Text
    """E.164, e.g. +14155550123; one the trunk may present (else 422)."""
    window: Window = msgspec.field(default_factory=Window)
    timezone: Text = "UTC"
    """IANA zone for contacts that carry none."""
    pacing: Pacing = msgspec.field(default_factory=Pacing)
    retry: Retry = msgspec.field(default_factory=Retry)
    weight: float = 1.0
    """Share of the tenant's slots against its other campaigns."""
    max_concurrency: int | None = None
    abandon_message: AbandonMessage | None = None
    """What an answered call no worker took in time hears before the hang-up (Ofcom: who
    called and how to call back); null hangs up in silence."""

    def to_domain(self, campaign_id: str, tenant_id: str) -> Campaign:
        return Campaign(
            id=campaign_id,
            tenant_id=tenant_id,
            name=self.name,
            agent_id=self.agent_id,
            trunk_id=self.trunk_id,
            caller_id=self.caller_id,
            window=self.window.to_domain(),
            timezone=self.timezone,
            pacing=self.pacing.to_domain(),
            retry=self.retry.to_domain(),
            weight=self.weight,
            max_concurrency=self.max_concurrency,
            abandon_message=self.abandon_message,
        )


class CampaignPatch(Body):
    """The fields to change; a nested object (`window`, `pacing`, `retry`) is replaced whole.
    The state changes only through the lifecycle routes."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    agent_id: Ref | msgspec.UnsetType = msgspec.UNSET
    trunk_id: Ref | msgspec.UnsetType = msgspec.UNSET
    caller_id: Text | msgspec.UnsetType = msgspec.UNSET
    window: Window | msgspec.UnsetType = msgspec.UNSET
    timezone: Text | msgspec.UnsetType = msgspec.UNSET
    pacing: Pacing | msgspec.UnsetType = msgspec.UNSET
    retry: Retry | msgspec.UnsetType = msgspec.UNSET
    weight: float | msgspec.UnsetType = msgspec.UNSET
    max_concurrency: int | msgspec.UnsetType | None = msgspec.UNSET
    abandon_message: AbandonMessage | msgspec.UnsetType | None = msgspec.UNSET

    def apply(self, campaign: Campaign) -> Campaign:
        changes: dict[str, Any] = {
            name: value.to_domain() if isinstance(value, Window | Pacing | Retry) else value
            for name, value in given(self).items()
        }
        return attrs.evolve(campaign, **changes)


class CampaignOut(Out):
    id: str
    tenant_id: str
    name: str
    agent_id: str
    trunk_id: str
    caller_id: str
    window: Window
    timezone: str
    pacing: Pacing
    retry: Retry
    weight: float
    max_concurrency: int | None
    state: CampaignState
    abandon_message: str | None

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignOut:
        return cls(
            id=campaign.id,
            tenant_id=campaign.tenant_id,
            name=campaign.name,
            agent_id=campaign.agent_id,
            trunk_id=campaign.trunk_id,
            caller_id=campaign.caller_id,
            window=Window.of(campaign.window),
            timezone=campaign.timezone,
            pacing=Pacing.of(campaign.pacing),
            retry=Retry.of(campaign.retry),
            weight=campaign.weight,
            max_concurrency=campaign.max_concurrency,
            state=campaign.state,
            abandon_message=campaign.abandon_message,
        )


_ONE = "/{campaign_id:str}"


# A state change (`POST /{campaign_id}/start` …) answers 200 with the campaign, or a 409 when
# the campaign's state does not allow it.
_state_change = partial(
    post, status_code=200, sync_to_thread=True, responses=responses(400, 401, 403, 404, 409, 429)
)


def _move(deps: Deps, caller: Caller, campaign_id: str, wanted: CampaignState) -> CampaignOut:
    own_campaign(deps.campaigns, caller, campaign_id)
    return CampaignOut.of(deps.campaigns.set_state(campaign_id, wanted))


class CampaignController(Controller):
    path = "/campaigns"
    tags = ("campaigns",)
    guards = (allow(Role.TENANT, Role.ADMIN),)

    @post(
        "/",
        sync_to_thread=True,
        summary="Create a campaign (in draft)",
        responses=responses(400, 401, 403, 422, 429),
    )
    def create(self, data: JSONBody[CampaignIn], caller: CallerArg, deps: DepsArg) -> CampaignOut:
        campaign = data.to_domain(deps.new_id(), own_tenant_id(caller))
        check_own_agent(deps.agents, caller, campaign.agent_id)
        check_campaign_trunk(deps.trunks, caller, campaign.trunk_id, campaign.caller_id)
        deps.campaigns.put(campaign)
        return CampaignOut.of(campaign)

    @get(
        "/",
        sync_to_thread=True,
        summary="List the tenant's campaigns",
        responses=responses(400, 401, 403, 429),
    )
    def list_campaigns(self, caller: CallerArg, deps: DepsArg) -> list[CampaignOut]:
        return [CampaignOut.of(c) for c in deps.campaigns.of_tenant(own_tenant_id(caller))]

    @get(
        _ONE,
        sync_to_thread=True,
        summary="Read a campaign",
        responses=responses(400, 401, 403, 404, 429),
    )
    def read(self, campaign_id: PathId, caller: CallerArg, deps: DepsArg) -> CampaignOut:
        return CampaignOut.of(own_campaign(deps.campaigns, caller, campaign_id))

    @patch(
        _ONE,
        sync_to_thread=True,
        summary="Change a campaign's settings",
        responses=responses(400, 401, 403, 404, 422, 429),
    )
    def update(
        self,
        campaign_id: PathId,
        data: JSONBody[CampaignPatch],
        caller: CallerArg,
        deps: DepsArg,
    ) -> CampaignOut:
        changed = data.apply(own_campaign(deps.campaigns, caller, campaign_id))
        if data.agent_id is not msgspec.UNSET:
            # Only a new reference is checked: an agent deleted since the campaign was made
            # must not make every other edit of it fail.
            check_own_agent(deps.agents, caller, changed.agent_id)
        if data.trunk_id is not msgspec.UNSET or data.caller_id is not msgspec.UNSET:
            check_campaign_trunk(deps.trunks, caller, changed.trunk_id, changed.caller_id)
        edited = deps.campaign_edits.edit(changed)
        if edited is None:
            raise NotFound("campaign", campaign_id)
        return CampaignOut.of(edited)

    @_state_change(f"{_ONE}/start", summary="Start dialling: draft or paused → running")
    def start(self, campaign_id: PathId, caller: CallerArg, deps: DepsArg) -> CampaignOut:
        return _move(deps, caller, campaign_id, CampaignState.RUNNING)

    @_state_change(f"{_ONE}/pause", summary="Stop new dials, keep the campaign: running → paused")
    def pause(self, campaign_id: PathId, caller: CallerArg, deps: DepsArg) -> CampaignOut:
        return _move(deps, caller, campaign_id, CampaignState.PAUSED)

    @_state_change(f"{_ONE}/resume", summary="Dial again: paused → running")
    def resume(self, campaign_id: PathId, caller: CallerArg, deps: DepsArg) -> CampaignOut:
        return _move(deps, caller, campaign_id, CampaignState.RUNNING)

    @_state_change(f"{_ONE}/complete", summary="End the campaign for good")
    def complete(self, campaign_id: PathId, caller: CallerArg, deps: DepsArg) -> CampaignOut:
        return _move(deps, caller, campaign_id, CampaignState.COMPLETED)
