"""The `DncList` contract, for the fake and the MongoDB adapter."""

from __future__ import annotations

import pytest
from pymongo.database import Database

from voxcore_adapters.fakes import InMemoryDncList
from voxcore_adapters.mongo import MongoDncList
from voxcore_adapters.mongo.documents import Document
from voxcore_domain.errors import ValidationError
from voxcore_domain.ports import DncList

pytestmark = pytest.mark.integration

A, B, C = "+14155550001", "+14155550002", "+442071838750"


@pytest.fixture
def dnc(db_if_mongo: Database[Document] | None) -> DncList:
    return InMemoryDncList() if db_if_mongo is None else MongoDncList(db_if_mongo)


def test_numbers_are_blocked_per_tenant(dnc: DncList) -> None:
    assert dnc.add("t1", [A, B, A]) == 2
    assert dnc.add("t1", [B, C]) == 1
    assert dnc.add("t1", []) == 0
    assert dnc.blocked("t1", [A, B, C, "+14155550009"]) == {A, B, C}
    assert dnc.blocked("t2", [A]) == frozenset()
    assert dnc.blocked("t1", []) == frozenset()


def test_a_number_can_be_taken_off_the_list(dnc: DncList) -> None:
    dnc.add("t1", [A, B])
    assert dnc.remove("t1", A)
    assert not dnc.remove("t1", A)
    assert not dnc.remove("t2", B)
    assert dnc.blocked("t1", [A, B]) == {B}


@pytest.mark.parametrize(
    ("tenant", "phones", "field"),
    [
        ("t1", ["4155550001"], "phone"),
        ("t1", [A, "+0155550001"], "phone"),
        ("t1", A, "phone"),  # one string, not a list of numbers
        ("", [A], "tenant_id"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    dnc: DncList, tenant: str, phones: list[str], field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        dnc.add(tenant, phones)
    assert raised.value.field == field
    assert dnc.blocked("t1", [A]) == frozenset()
