"""The `Tenants` contract, for the fake and the MongoDB adapter."""

from __future__ import annotations

import pytest
from pymongo.database import Database

from voxcore_adapters.fakes import InMemoryTenants
from voxcore_adapters.mongo import MongoTenants
from voxcore_adapters.mongo.documents import Document
from voxcore_domain.model import Tenant
from voxcore_domain.ports import Tenants

pytestmark = pytest.mark.integration


@pytest.fixture
def tenants(db_if_mongo: Database[Document] | None) -> Tenants:
    return InMemoryTenants() if db_if_mongo is None else MongoTenants(db_if_mongo)


def test_tenants_are_put_replaced_and_listed_by_id(tenants: Tenants) -> None:
    assert tenants.get("t1") is None
    assert tenants.all() == []
    tenants.put(Tenant("t2", "Beta", weight=0.5))
    tenants.put(Tenant("t1", "Acme", weight=2.0, max_concurrency=40))
    assert tenants.get("t1") == Tenant("t1", "Acme", weight=2.0, max_concurrency=40)
    tenants.put(Tenant("t1", "Acme Ltd"))
    assert tenants.all() == [Tenant("t1", "Acme Ltd"), Tenant("t2", "Beta", weight=0.5)]
