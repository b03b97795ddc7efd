"""The `CallReports` contract, for the fake and the MongoDB adapter."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from pymongo.database import Database

from voxcore_adapters.fakes.call_reports import InMemoryCallReports
from voxcore_adapters.mongo.call_reports import MongoCallReports
from voxcore_adapters.mongo.documents import Document
from voxcore_domain.callevents import CallEvent
from voxcore_domain.callreports import CallReport, Standalone
from voxcore_domain.model import utc
from voxcore_domain.ports import CallReports, StoredReport

pytestmark = pytest.mark.integration

T0 = utc(2024, 6, 5, 12)


def report(
    sequence: int, kind: str = "attached", call_id: str = "call-1", **detail: object
) -> CallReport:
    disposition = "completed" if kind == "ended" else None
    event = CallEvent(
        kind, call_id, "c1", "t1", T0 + timedelta(seconds=sequence), disposition, "h/w1"
    )
    return CallReport(call_id, sequence, event, "0" * 32, detail)


@pytest.fixture
def reports(db_if_mongo: Database[Document] | None) -> CallReports:
    return InMemoryCallReports() if db_if_mongo is None else MongoCallReports(db_if_mongo)


def test_a_report_is_stored_once_per_call_and_sequence(reports: CallReports) -> None:
    first = report(1)
    assert reports.add(first) is None
    # A repeat, even with another body, changes nothing and gets the stored one back.
    assert reports.add(report(1, "ended")) == StoredReport(first, applied=False)
    reports.mark_applied("call-1", 1)
    assert reports.add(first) == StoredReport(first, applied=True)
    assert reports.for_call("call-1") == [first]


def test_a_calls_reports_come_back_in_sequence_order_with_their_detail(
    reports: CallReports,
) -> None:
    lines = [{"speaker": "agent", "text": "Hello"}]
    ended = attrs.evolve(report(3, "ended"), detail={"transcript": lines, "a.b": 1})
    for each in (ended, report(1), report(2, "answered"), report(1, call_id="call-2")):
        reports.add(each)
    assert reports.for_call("call-1") == [report(1), report(2, "answered"), ended]
    assert reports.for_call("call-2") == [report(1, call_id="call-2")]
    assert reports.for_call("nobody") == []


def test_a_stand_alone_calls_report_comes_back_with_its_origin_and_agent(
    reports: CallReports,
) -> None:
    event = CallEvent("ended", "lk-1", "", "t1", T0, "hung_up", "h/w1")
    ended = CallReport("lk-1", 2, event, "", {"reason": "bye"}, Standalone("widget", "a1"))
    assert reports.add(ended) is None
    assert reports.add(ended) == StoredReport(ended, applied=False)
    assert reports.for_call("lk-1") == [ended]
    # Another report under its key is told apart from the stored one.
    other = attrs.evolve(ended, standalone=Standalone("dialout", "a1"))
    stored = reports.add(other)
    assert stored is not None
    assert not stored.report.same_step(other)
