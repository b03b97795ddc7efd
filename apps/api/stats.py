"""`GET /v1/campaigns/{campaign_id}/stats`: a campaign's dials, answers and abandons over the
last hour, today (in the campaign's time zone) and the last 30 days, against its abandon target,
with the calls it holds now. Computed from the call log by `voxcore_domain.callstats`.
"""

from __future__ import annotations

from datetime import datetime

import anyio.to_thread
from litestar import Controller, get

from apps.api.auth import allow
from apps.api.caller import Caller, Role
from apps.api.deps import Deps
from apps.api.errors import NotFound, responses
from apps.api.params import CallerArg, DepsArg, PathId
from apps.api.scope import own_campaign
from apps.api.wire import Out
from voxcore_domain.callstats import (
    CallTally,
    CampaignCallStats,
    WindowStats,
    campaign_stats,
    windows,
)
from voxcore_domain.model import Campaign, SlotState


class WindowOut(Out):
    since: datetime
    dials: int
    """Dials placed in the window."""
    ended: int
    """Of those, the ones whose outcome is known."""
    live_answers: int
    """Answered by a person, or abandoned (the regulators count abandoned calls as live
    answers); an answering machine is not one."""
    machine_answers: int
    abandoned: int
    answer_rate: float | None
    """`live_answers / ended`; null before any dial ended."""
    abandon_rate: float | None
    """`abandoned / live_answers`, the regulators' abandon rate; null before any live answer."""
    over_target: bool
    """Whether `abandon_rate` is above the campaign's `abandon_target`."""

    @classmethod
    def of(cls, window: WindowStats) -> WindowOut:
        return cls(
            since=window.since,
            dials=window.dials,
            ended=window.ended,
            live_answers=window.live_answers,
            machine_answers=window.machine_answers,
            abandoned=window.abandoned,
            answer_rate=window.answer_rate,
            abandon_rate=window.abandon_rate,
            over_target=window.over_target,
        )


class CampaignStatsOut(Out):
    campaign_id: str
    at: datetime
    timezone: str
    """The campaign's time zone: `today` starts at its midnight."""
    abandon_target: float
    last_hour: WindowOut
    today: WindowOut
    last_30_days: WindowOut
    busy_slots: int
    """The campaign's calls a fleet worker holds now: attached, no end reported yet, dialled
    within the last 4 hours (a call whose worker died unreported stops counting then)."""
    fleet_slots: int
    """Slots in the fleet's registry now (heartbeating) that are not draining."""
    occupancy: float | None
    """`busy_slots / fleet_slots`: the share of the fleet's live slots this campaign's calls
    hold now; null when no slot is registered. A snapshot, not an average over time."""

    @classmethod
    def of(cls, campaign: Campaign, stats: CampaignCallStats) -> CampaignStatsOut:
        return cls(
            campaign_id=campaign.id,
            at=stats.at,
            timezone=campaign.timezone,
            abandon_target=stats.abandon_target,
            last_hour=WindowOut.of(stats.last_hour),
            today=WindowOut.of(stats.today),
            last_30_days=WindowOut.of(stats.last_30_days),
            busy_slots=stats.busy_slots,
            fleet_slots=stats.fleet_slots,
            occupancy=stats.occupancy,
        )


def readable_campaign(deps: Deps, caller: Caller, campaign_id: str) -> Campaign:
    """The tenant's own campaign; any campaign for the internal token."""
    if caller.role is Role.INTERNAL:
        campaign = deps.campaigns.get(campaign_id)
        if campaign is None:
            raise NotFound("campaign", campaign_id)
        return campaign
    return own_campaign(deps.campaigns, caller, campaign_id)


class CampaignStatsController(Controller):
    path = "/campaigns"
    tags = ("campaigns",)
    guards = (allow(Role.TENANT, Role.INTERNAL),)

    @get(
        "/{campaign_id:str}/stats",
        summary="A campaign's call statistics",
        description=(
            "Dials, live answers, answer rate and abandon rate (abandoned per live answer; "
            "answering machines are not live answers) over the last hour, today in the "
            "campaign's time zone and the last 30 days, against the campaign's abandon target; "
            "a dial counts in the window it was placed in. `busy_slots` are the campaign's calls "
            "a worker holds now; `occupancy` is `busy_slots / fleet_slots`, the share of the "
            "fleet's live, non-draining slots they take, now."
        ),
        responses=responses(401, 403, 404, 429, 503),
    )
    async def stats(
        self, campaign_id: PathId, deps: DepsArg, caller: CallerArg
    ) -> CampaignStatsOut:
        campaign = await anyio.to_thread.run_sync(readable_campaign, deps, caller, campaign_id)
        at = windows(deps.clock.now(), campaign.timezone)

        def tallies() -> list[CallTally]:
            log = deps.call_log
            return [
                log.tally(campaign.id, since, at.until)
                for since in (at.last_hour, at.today, at.last_30_days, at.busy)
            ]

        hour, today, month, busy = await anyio.to_thread.run_sync(tallies)
        slots = await deps.slots.slots()
        live = sum(1 for slot in slots if slot.state is not SlotState.DRAINING)
        stats = campaign_stats(at, campaign.pacing.abandon_target, hour, today, month, busy, live)
        return CampaignStatsOut.of(campaign, stats)
