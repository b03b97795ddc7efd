"""The `Trunks` and `FleetHosts` contracts, for the fakes and the MongoDB adapters."""

from __future__ import annotations

import attrs
import pytest
from pymongo.database import Database

from voxcore_adapters.fakes.trunks import InMemoryFleetHosts, InMemoryTrunks
from voxcore_adapters.mongo.documents import Document
from voxcore_adapters.mongo.trunks import MongoFleetHosts, MongoTrunks
from voxcore_domain.ports import FleetHosts, Trunks
from voxcore_domain.trunks import FleetHost, Trunk

pytestmark = pytest.mark.integration


def trunk(trunk_id: str, tenant_id: str = "t1") -> Trunk:
    return Trunk(trunk_id, tenant_id, f"trunk {trunk_id}", "ST_abc", ["+14155550100"], 5, 30)


@pytest.fixture
def trunks(db_if_mongo: Database[Document] | None) -> Trunks:
    return InMemoryTrunks() if db_if_mongo is None else MongoTrunks(db_if_mongo)


@pytest.fixture
def hosts(db_if_mongo: Database[Document] | None) -> FleetHosts:
    return InMemoryFleetHosts() if db_if_mongo is None else MongoFleetHosts(db_if_mongo)


def test_a_trunk_comes_back_as_it_was_put(trunks: Trunks) -> None:
    trunks.put(trunk("tr1"))
    assert trunks.get("tr1") == trunk("tr1")
    assert trunks.get("nope") is None
    unlimited = Trunk("tr2", "t1", "open", "ST_def", enabled=False)
    trunks.put(unlimited)
    assert trunks.get("tr2") == unlimited


def test_putting_a_trunk_again_replaces_it(trunks: Trunks) -> None:
    trunks.put(trunk("tr1"))
    changed = attrs.evolve(trunk("tr1"), cps=2.5, caller_ids=("+14155550101",), enabled=False)
    trunks.put(changed)
    assert trunks.get("tr1") == changed
    assert trunks.all() == [changed]


def test_trunks_are_listed_by_id_per_tenant_and_all(trunks: Trunks) -> None:
    for trunk_id, tenant_id in [("tr3", "t1"), ("tr1", "t2"), ("tr2", "t1")]:
        trunks.put(trunk(trunk_id, tenant_id))
    assert [t.id for t in trunks.of_tenant("t1")] == ["tr2", "tr3"]
    assert [t.id for t in trunks.of_tenant("t2")] == ["tr1"]
    assert trunks.of_tenant("t9") == []
    assert [t.id for t in trunks.all()] == ["tr1", "tr2", "tr3"]


def test_deleting_a_trunk_says_whether_it_was_there(trunks: Trunks) -> None:
    trunks.put(trunk("tr1"))
    assert trunks.delete("tr1")
    assert not trunks.delete("tr1")
    assert trunks.get("tr1") is None


def test_fleet_hosts_are_put_replaced_listed_and_deleted(hosts: FleetHosts) -> None:
    hosts.put(FleetHost("h2", "http://10.0.0.6:8000"))
    hosts.put(FleetHost("h1", "unix:/run/voxcore/nginx.sock"))
    assert [h.id for h in hosts.all()] == ["h1", "h2"]
    disabled = FleetHost("h2", "http://10.0.0.7:8000", enabled=False)
    hosts.put(disabled)
    assert hosts.get("h2") == disabled
    assert hosts.get("h9") is None
    assert hosts.delete("h1")
    assert not hosts.delete("h1")
    assert hosts.all() == [disabled]
