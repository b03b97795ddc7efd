"""The campaigns of this dialler's shard: the `Campaigns` store seen through `shard_of`."""

from __future__ import annotations

from voxcore_domain.model import Campaign
from voxcore_domain.ports import Campaigns
from voxcore_domain.shards import check_shards, shard_of


class ShardCampaigns:
    """`Campaigns` holding only the campaigns that hash to shard `index` of `shards`."""

    def __init__(self, inner: Campaigns, index: int, shards: int) -> None:
        check_shards(shards, index)
        self._inner = inner
        self.index = index
        self.shards = shards

    def get(self, campaign_id: str) -> Campaign | None:
        campaign = self._inner.get(campaign_id)
        if campaign is None or shard_of(campaign.id, self.shards) != self.index:
            return None
        return campaign

    def running(self) -> list[Campaign]:
        return [c for c in self._inner.running() if shard_of(c.id, self.shards) == self.index]
