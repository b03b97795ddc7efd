"""The `CallLog` contract, for the fake and the MongoDB adapter."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from pymongo.database import Database

from voxcore_adapters.fakes import InMemoryCallLog
from voxcore_adapters.mongo import MongoCallLog
from voxcore_adapters.mongo.documents import Document
from voxcore_domain.model import CallAttempt, CallOrigin, Disposition, utc
from voxcore_domain.ports import CallLog

pytestmark = pytest.mark.integration

DIALED = utc(2024, 6, 5, 12)


def attempt(number: int, contact_id: str = "k1") -> CallAttempt:
    return CallAttempt(f"{contact_id}-{number}", contact_id, "c1", "t1", number, "0" * 32, DIALED)


@pytest.fixture
def log(db_if_mongo: Database[Document] | None) -> CallLog:
    return InMemoryCallLog() if db_if_mongo is None else MongoCallLog(db_if_mongo)


def test_a_contacts_attempts_come_back_first_one_first(log: CallLog) -> None:
    log.record(attempt(2))
    log.record(attempt(1))
    log.record(attempt(1, "k2"))
    assert log.for_contact("k1") == [attempt(1), attempt(2)]
    assert log.for_contact("k9") == []


def test_recording_an_attempt_again_replaces_it_as_it_grows(log: CallLog) -> None:
    log.record(attempt(1))
    ended = attrs.evolve(
        attempt(1),
        answered_at=DIALED + timedelta(seconds=9),
        attached_at=DIALED + timedelta(seconds=10),
        ended_at=DIALED + timedelta(minutes=3),
        disposition=Disposition.COMPLETED,
        worker="host-1/slot-3",
    )
    log.record(ended)
    assert log.for_contact("k1") == [ended]


def test_an_attempt_is_found_by_its_call_id(log: CallLog) -> None:
    log.record(attempt(1))
    log.record(attempt(1, "k2"))
    assert log.get("k2-1") == attempt(1, "k2")
    assert log.get("nobody") is None


@pytest.mark.parametrize("origin", list(CallOrigin))
def test_an_attempt_keeps_its_origin(log: CallLog, origin: CallOrigin) -> None:
    stand_alone = origin in (CallOrigin.DIALOUT, CallOrigin.WIDGET)
    recorded = attrs.evolve(
        attempt(1),
        contact_id="" if stand_alone else "k1",
        campaign_id="" if stand_alone else "c1",
        lease_token="" if stand_alone else "0" * 32,
        origin=origin,
    )
    log.record(recorded)
    assert log.get(recorded.id) == recorded
