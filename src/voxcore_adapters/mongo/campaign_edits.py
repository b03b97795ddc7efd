"""Campaign edits over the `campaigns` collection: one `findAndModify` that sets every field but
the state."""

from __future__ import annotations

from pymongo import ReturnDocument
from pymongo.database import Database

from voxcore_adapters.mongo.documents import Document, from_document, to_document
from voxcore_adapters.mongo.schema import CAMPAIGNS, collection
from voxcore_domain.model import Campaign


class MongoCampaignEdits:
    """The `CampaignEdits` port over the `campaigns` collection."""

    def __init__(self, db: Database[Document]) -> None:
        self._campaigns = collection(db, CAMPAIGNS)

    def edit(self, campaign: Campaign) -> Campaign | None:
        settings = to_document(campaign)
        for kept in ("_id", "tenant_id", "state"):
            del settings[kept]
        found = self._campaigns.find_one_and_update(
            {"_id": campaign.id, "tenant_id": campaign.tenant_id},
            {"$set": settings},
            return_document=ReturnDocument.AFTER,
        )
        return None if found is None else from_document(found, Campaign)
