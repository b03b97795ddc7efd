"""Voice agents, one document each."""

from __future__ import annotations

from pymongo import ASCENDING
from pymongo.database import Database

from voxcore_adapters.mongo.documents import Document, from_document, to_document
from voxcore_adapters.mongo.schema import AGENTS, collection
from voxcore_domain.agents import Agent


class MongoAgents:
    """The `Agents` port over the `agents` collection."""

    def __init__(self, db: Database[Document]) -> None:
        self._agents = collection(db, AGENTS)

    def put(self, agent: Agent) -> None:
        self._agents.replace_one({"_id": agent.id}, to_document(agent), upsert=True)

    def replace(self, agent: Agent, expected_version: int) -> bool:
        # The filter on the version makes the check and the write one atomic operation.
        found = self._agents.replace_one(
            {"_id": agent.id, "version": expected_version}, to_document(agent)
        )
        return found.matched_count == 1

    def get(self, agent_id: str) -> Agent | None:
        document = self._agents.find_one({"_id": agent_id})
        return None if document is None else from_document(document, Agent)

    def of_tenant(self, tenant_id: str) -> list[Agent]:
        found = self._agents.find({"tenant_id": tenant_id}).sort("_id", ASCENDING)
        return [from_document(document, Agent) for document in found]

    def delete(self, agent_id: str) -> bool:
        return self._agents.delete_one({"_id": agent_id}).deleted_count == 1
