"""Campaign edits on the in-memory campaigns."""

from __future__ import annotations

import attrs

from voxcore_adapters.fakes.campaigns import InMemoryCampaigns
from voxcore_domain.model import Campaign


class InMemoryCampaignEdits:
    """The `CampaignEdits` port over an `InMemoryCampaigns`."""

    def __init__(self, campaigns: InMemoryCampaigns) -> None:
        self._campaigns = campaigns

    def edit(self, campaign: Campaign) -> Campaign | None:
        current = self._campaigns.get(campaign.id)
        if current is None or current.tenant_id != campaign.tenant_id:
            return None
        edited = attrs.evolve(campaign, state=current.state)
        self._campaigns.put(edited)
        return edited
