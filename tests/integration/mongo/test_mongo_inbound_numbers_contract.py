"""The `InboundNumbers` contract, for the fake and the MongoDB adapter."""

from __future__ import annotations

import attrs
import pytest
from pymongo.database import Database

from voxcore_adapters.fakes.inbound import InMemoryInboundNumbers
from voxcore_adapters.mongo.documents import Document
from voxcore_adapters.mongo.inbound import MongoInboundNumbers
from voxcore_domain.inbound import InboundNumber
from voxcore_domain.ports import InboundNumbers

pytestmark = pytest.mark.integration

SUPPORT = InboundNumber("n1", "t1", "+14155550100", "agent-1")


@pytest.fixture
def numbers(db_if_mongo: Database[Document] | None) -> InboundNumbers:
    return InMemoryInboundNumbers() if db_if_mongo is None else MongoInboundNumbers(db_if_mongo)


def test_an_entry_is_found_by_id_and_by_number(numbers: InboundNumbers) -> None:
    assert numbers.add(SUPPORT)
    assert numbers.get("n1") == SUPPORT
    assert numbers.by_number("+14155550100") == SUPPORT
    assert numbers.by_number("+14155550199") is None
    assert numbers.get("n9") is None


def test_a_number_has_one_owner(numbers: InboundNumbers) -> None:
    assert numbers.add(SUPPORT)
    assert not numbers.add(InboundNumber("n2", "t2", "+14155550100", "agent-2"))
    assert not numbers.add(attrs.evolve(SUPPORT, number="+14155550101"))
    assert numbers.by_number("+14155550100") == SUPPORT
    assert numbers.get("n2") is None


def test_replacing_keeps_the_number_and_needs_the_entry(numbers: InboundNumbers) -> None:
    assert not numbers.replace(SUPPORT)
    numbers.add(SUPPORT)
    moved = attrs.evolve(SUPPORT, agent_id="agent-2", enabled=False)
    assert numbers.replace(moved)
    assert numbers.by_number("+14155550100") == moved
    assert not numbers.replace(attrs.evolve(SUPPORT, number="+14155550101"))
    assert numbers.get("n1") == moved


def test_entries_are_listed_per_tenant_and_deleted(numbers: InboundNumbers) -> None:
    numbers.add(InboundNumber("n3", "t1", "+14155550103", "a"))
    numbers.add(InboundNumber("n1", "t1", "+14155550101", "a"))
    numbers.add(InboundNumber("n2", "t2", "+14155550102", "b"))
    assert [e.id for e in numbers.of_tenant("t1")] == ["n1", "n3"]
    assert numbers.delete("n1")
    assert not numbers.delete("n1")
    assert [e.id for e in numbers.of_tenant("t1")] == ["n3"]
    # A deleted entry's number is free again.
    assert numbers.add(InboundNumber("n4", "t2", "+14155550101", "b"))
