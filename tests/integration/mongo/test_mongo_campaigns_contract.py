"""The `CampaignStore` contract (and so `Campaigns`), for the fake and the MongoDB adapter."""

from __future__ import annotations

import threading
from datetime import time, timedelta

import attrs
import pytest
from pymongo.database import Database

from voxcore_adapters.fakes import InMemoryCampaigns
from voxcore_adapters.mongo import MongoCampaigns
from voxcore_adapters.mongo.documents import Document
from voxcore_domain.errors import InvalidTransition, ValidationError
from voxcore_domain.model import (
    CallingWindow,
    Campaign,
    CampaignState,
    PacingKind,
    PacingMode,
    PacingSettings,
    RetryPolicy,
)
from voxcore_domain.ports import CampaignStore

pytestmark = pytest.mark.integration

CAMPAIGN = Campaign(
    "c1",
    "t1",
    "Reminders",
    "a1",
    "trunk",
    "+14155550100",
    window=CallingWindow(time(9, 30), time(17, 45, 30), {1, 2, 3, 4, 5}),
    timezone="Europe/London",
    pacing=PacingSettings(PacingMode(PacingKind.RATIO, 2.5), abandon_target=0.02),
    retry=RetryPolicy(max_attempts=5, busy_after=timedelta(minutes=7, seconds=30)),
    weight=2.0,
    max_concurrency=12,
)


@pytest.fixture
def campaigns(db_if_mongo: Database[Document] | None) -> CampaignStore:
    return InMemoryCampaigns() if db_if_mongo is None else MongoCampaigns(db_if_mongo)


def test_a_campaign_comes_back_as_it_was_put(campaigns: CampaignStore) -> None:
    assert campaigns.get("c1") is None
    campaigns.put(CAMPAIGN)
    assert campaigns.get("c1") == CAMPAIGN
    renamed = attrs.evolve(CAMPAIGN, name="Renamed", window=CallingWindow(time(0), time.max))
    campaigns.put(renamed)
    assert campaigns.get("c1") == renamed


def test_running_lists_only_running_campaigns_by_id(campaigns: CampaignStore) -> None:
    for number, state in [(3, "running"), (1, "running"), (2, "paused"), (4, "draft")]:
        campaigns.put(attrs.evolve(CAMPAIGN, id=f"c{number}", state=CampaignState(state)))
    assert [c.id for c in campaigns.running()] == ["c1", "c3"]


def test_of_tenant_lists_the_tenants_campaigns_by_id(campaigns: CampaignStore) -> None:
    campaigns.put(attrs.evolve(CAMPAIGN, id="c2"))
    campaigns.put(attrs.evolve(CAMPAIGN, id="c1"))
    campaigns.put(attrs.evolve(CAMPAIGN, id="c0", tenant_id="t2"))
    assert [c.id for c in campaigns.of_tenant("t1")] == ["c1", "c2"]
    assert campaigns.of_tenant("t9") == []


def test_a_campaign_moves_along_its_lifecycle(campaigns: CampaignStore) -> None:
    campaigns.put(CAMPAIGN)
    for wanted in (CampaignState.RUNNING, CampaignState.PAUSED, CampaignState.RUNNING):
        assert campaigns.set_state("c1", wanted) == attrs.evolve(CAMPAIGN, state=wanted)
        assert campaigns.get("c1") == attrs.evolve(CAMPAIGN, state=wanted)
    campaigns.set_state("c1", CampaignState.COMPLETED)
    with pytest.raises(InvalidTransition):
        campaigns.set_state("c1", CampaignState.RUNNING)
    assert campaigns.running() == []


def test_a_state_change_is_checked(campaigns: CampaignStore) -> None:
    campaigns.put(CAMPAIGN)
    with pytest.raises(InvalidTransition):
        campaigns.set_state("c1", CampaignState.PAUSED)  # a draft never ran
    with pytest.raises(ValidationError) as unknown:
        campaigns.set_state("c9", CampaignState.RUNNING)
    assert unknown.value.field == "campaign_id"
    with pytest.raises(ValidationError) as bad:
        campaigns.set_state("c1", "started")  # type: ignore[arg-type]
    assert bad.value.field == "state"
    assert campaigns.get("c1") == CAMPAIGN


def test_concurrent_state_changes_from_one_state_cannot_both_win(
    campaigns: CampaignStore, backend: str
) -> None:
    """Pause and complete race from running: whichever lands second must see the first."""
    campaigns.put(attrs.evolve(CAMPAIGN, state=CampaignState.RUNNING))
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def change(wanted: CampaignState) -> None:
        barrier.wait()
        try:
            outcomes.append(campaigns.set_state("c1", wanted).state.value)
        except InvalidTransition:
            outcomes.append("refused")

    wanted = [CampaignState.COMPLETED] * 4 + [CampaignState.PAUSED] * 4
    threads = [threading.Thread(target=change, args=(state,)) for state in wanted]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Exactly one change to completed can happen, after which nothing else can.
    assert outcomes.count("completed") == 1
    final = campaigns.get("c1")
    assert final is not None
    assert final.state is CampaignState.COMPLETED


def test_the_abandon_message_comes_back_as_it_was_put(campaigns: CampaignStore) -> None:
    said = attrs.evolve(CAMPAIGN, abandon_message="This was Acme; call 0800 123 456.")
    campaigns.put(said)
    assert campaigns.get("c1") == said
    campaigns.put(attrs.evolve(said, abandon_message=None))
    stored = campaigns.get("c1")
    assert stored is not None
    assert stored.abandon_message is None
