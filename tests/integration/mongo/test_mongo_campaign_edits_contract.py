"""The `CampaignEdits` contract, for the fake and the MongoDB adapter."""

from __future__ import annotations

import attrs
import pytest
from pymongo.database import Database

from voxcore_adapters.fakes.campaign_edits import InMemoryCampaignEdits
from voxcore_adapters.fakes.campaigns import InMemoryCampaigns
from voxcore_adapters.mongo.campaign_edits import MongoCampaignEdits
from voxcore_adapters.mongo.campaigns import MongoCampaigns
from voxcore_adapters.mongo.documents import Document
from voxcore_domain.model import CallingWindow, Campaign, CampaignState, PacingSettings
from voxcore_domain.ports import CampaignEdits, CampaignStore

pytestmark = pytest.mark.integration

CAMPAIGN = Campaign("c1", "t1", "June", "agent-1", "trunk-1", "+14155550100")


@pytest.fixture
def stores(db_if_mongo: Database[Document] | None) -> tuple[CampaignStore, CampaignEdits]:
    if db_if_mongo is None:
        campaigns = InMemoryCampaigns()
        return campaigns, InMemoryCampaignEdits(campaigns)
    return MongoCampaigns(db_if_mongo), MongoCampaignEdits(db_if_mongo)


def test_an_edit_replaces_the_settings_and_keeps_the_state(
    stores: tuple[CampaignStore, CampaignEdits],
) -> None:
    campaigns, edits = stores
    campaigns.put(CAMPAIGN)
    # Read in draft, then paused by someone else before the edit is written.
    read = campaigns.get("c1")
    assert read is not None
    campaigns.set_state("c1", CampaignState.RUNNING)
    campaigns.set_state("c1", CampaignState.PAUSED)
    edited = attrs.evolve(
        read,
        name="July",
        window=CallingWindow(weekdays=[1, 2, 3]),
        pacing=PacingSettings("ratio:2"),
        max_concurrency=5,
    )
    stored = edits.edit(edited)
    assert stored == attrs.evolve(edited, state=CampaignState.PAUSED)
    assert campaigns.get("c1") == stored


def test_an_edit_of_a_missing_or_foreign_campaign_writes_nothing(
    stores: tuple[CampaignStore, CampaignEdits],
) -> None:
    campaigns, edits = stores
    assert edits.edit(CAMPAIGN) is None
    assert campaigns.get("c1") is None
    campaigns.put(CAMPAIGN)
    assert edits.edit(attrs.evolve(CAMPAIGN, tenant_id="t2", name="Mine")) is None
    assert campaigns.get("c1") == CAMPAIGN
