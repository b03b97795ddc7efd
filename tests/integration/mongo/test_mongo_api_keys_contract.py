"""The `ApiKeys` contract, for the fake and the MongoDB adapter."""

from __future__ import annotations

import pytest
from pymongo.database import Database

from voxcore_adapters.fakes.api_keys import InMemoryApiKeys
from voxcore_adapters.mongo.api_keys import MongoApiKeys
from voxcore_adapters.mongo.documents import Document
from voxcore_domain.apikeys import ApiKey, digest
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import utc
from voxcore_domain.ports import ApiKeys

pytestmark = pytest.mark.integration


@pytest.fixture
def keys(db_if_mongo: Database[Document] | None) -> ApiKeys:
    if db_if_mongo is None:
        return InMemoryApiKeys()
    store = MongoApiKeys(db_if_mongo)
    store.ensure_indexes()
    return store


def key(key_id: str, tenant_id: str = "t1", hour: int = 9) -> ApiKey:
    return ApiKey(key_id, tenant_id, f"key {key_id}", digest(key_id * 4), utc(2024, 6, 5, hour))


def test_keys_are_added_read_by_id_and_listed_per_tenant_oldest_first(keys: ApiKeys) -> None:
    assert keys.get("k1") is None
    keys.add(key("k2", hour=8))
    keys.add(key("k1", hour=9))
    keys.add(key("k0", hour=9))
    keys.add(key("k3", tenant_id="t2"))
    assert keys.get("k1") == key("k1")
    assert keys.of_tenant("t1") == [key("k2", hour=8), key("k0"), key("k1")]
    assert keys.of_tenant("t2") == [key("k3", tenant_id="t2")]
    assert keys.of_tenant("t3") == []


def test_a_key_id_is_never_reused(keys: ApiKeys) -> None:
    keys.add(key("k1"))
    with pytest.raises(ValidationError) as refused:
        keys.add(key("k1", tenant_id="t2"))
    assert refused.value.field == "id"
    assert keys.get("k1") == key("k1")


def test_revoking_keeps_the_first_revocation_time(keys: ApiKeys) -> None:
    keys.add(key("k1"))
    first = keys.revoke("k1", utc(2024, 6, 6, 10))
    assert first == key("k1").revoke(utc(2024, 6, 6, 10))
    assert first is not None
    assert not first.active
    assert keys.revoke("k1", utc(2024, 6, 7, 10)) == first
    assert keys.get("k1") == first
    assert keys.revoke("nope", utc(2024, 6, 7, 10)) is None
