"""Campaigns in a dict."""

from __future__ import annotations

from collections.abc import Iterable

from voxcore_domain.errors import ValidationError
from voxcore_domain.model import Campaign, CampaignState


def campaign_state(value: str) -> CampaignState:
    try:
        return CampaignState(value)
    except ValueError:
        allowed = ", ".join(state.value for state in CampaignState)
        raise ValidationError("state", f"{value!r} is not one of {allowed}") from None


class InMemoryCampaigns:
    """The `CampaignStore` port over a dict."""

    def __init__(self, campaigns: Iterable[Campaign] = ()) -> None:
        self._campaigns = {campaign.id: campaign for campaign in campaigns}

    def put(self, campaign: Campaign) -> None:
        self._campaigns[campaign.id] = campaign

    def get(self, campaign_id: str) -> Campaign | None:
        return self._campaigns.get(campaign_id)

    def running(self) -> list[Campaign]:
        return [c for c in self._sorted() if c.state is CampaignState.RUNNING]

    def of_tenant(self, tenant_id: str) -> list[Campaign]:
        return [c for c in self._sorted() if c.tenant_id == tenant_id]

    def set_state(self, campaign_id: str, wanted: CampaignState) -> Campaign:
        state = campaign_state(wanted)
        current = self._campaigns.get(campaign_id)
        if current is None:
            raise ValidationError("campaign_id", f"no campaign {campaign_id!r}")
        changed = current.transition(state)
        self._campaigns[campaign_id] = changed
        return changed

    def _sorted(self) -> list[Campaign]:
        return [self._campaigns[key] for key in sorted(self._campaigns)]
