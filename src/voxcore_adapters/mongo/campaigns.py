"""Campaigns, one document each; the dialler reads the running ones, the API writes them."""

from __future__ import annotations

from pymongo.database import Database

from voxcore_adapters.fakes.campaigns import campaign_state
from voxcore_adapters.mongo.documents import Document, from_document, to_document
from voxcore_adapters.mongo.schema import CAMPAIGNS, collection
from voxcore_domain.errors import InvalidTransition, ValidationError
from voxcore_domain.model import Campaign, CampaignState

# A state change that lost a race with another one is tried again from the new state; after this
# many lost races it gives up as a conflict (the API answers 409) rather than spin.
_ATTEMPTS = 4


class MongoCampaigns:
    """The `CampaignStore` port (and so `Campaigns`) over the `campaigns` collection."""

    def __init__(self, db: Database[Document]) -> None:
        self._campaigns = collection(db, CAMPAIGNS)

    def put(self, campaign: Campaign) -> None:
        self._campaigns.replace_one({"_id": campaign.id}, to_document(campaign), upsert=True)

    def get(self, campaign_id: str) -> Campaign | None:
        document = self._campaigns.find_one({"_id": campaign_id})
        return None if document is None else from_document(document, Campaign)

    def running(self) -> list[Campaign]:
        """The running campaigns, ordered by id."""
        found = self._campaigns.find({"state": CampaignState.RUNNING.value}).sort("_id", 1)
        return [from_document(document, Campaign) for document in found]

    def of_tenant(self, tenant_id: str) -> list[Campaign]:
        found = self._campaigns.find({"tenant_id": tenant_id}).sort("_id", 1)
        return [from_document(document, Campaign) for document in found]

    def set_state(self, campaign_id: str, wanted: CampaignState) -> Campaign:
        """Compare-and-set on the state the campaign was read in, so two concurrent changes
        cannot both pass `Campaign.transition` from the same state."""
        wanted = campaign_state(wanted)
        seen: CampaignState | None = None
        for _ in range(_ATTEMPTS):
            current = self.get(campaign_id)
            if current is None:
                raise ValidationError("campaign_id", f"no campaign {campaign_id!r}")
            seen = current.state
            changed = current.transition(wanted)
            result = self._campaigns.update_one(
                {"_id": campaign_id, "state": current.state.value},
                {"$set": {"state": changed.state.value}},
            )
            if result.matched_count:
                return changed
        raise InvalidTransition("campaign", str(seen), wanted.value)
