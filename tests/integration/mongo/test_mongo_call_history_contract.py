"""The `CallHistory` contract (the call log as the API reads and grows it), for the fake and the
MongoDB adapter."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from pymongo.database import Database

from voxcore_adapters.fakes import InMemoryCallLog
from voxcore_adapters.mongo import MongoCallLog
from voxcore_adapters.mongo.documents import Document
from voxcore_domain.callstats import CallTally
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import CallAttempt, CallOrigin, Disposition, utc
from voxcore_domain.ports import CallHistory, CallQuery

pytestmark = pytest.mark.integration

T0 = utc(2024, 6, 5, 12)


def attempt(
    call_id: str,
    minute: int,
    campaign_id: str = "c1",
    tenant_id: str = "t1",
    disposition: Disposition | None = None,
    attached: bool = False,
) -> CallAttempt:
    dialed = T0 + timedelta(minutes=minute)
    return CallAttempt(
        call_id,
        f"k-{call_id}",
        campaign_id,
        tenant_id,
        1,
        "0" * 32,
        dialed,
        attached_at=dialed + timedelta(seconds=5) if attached or disposition else None,
        ended_at=dialed + timedelta(seconds=60) if disposition else None,
        disposition=disposition,
    )


@pytest.fixture
def log(db_if_mongo: Database[Document] | None) -> CallHistory:
    return InMemoryCallLog() if db_if_mongo is None else MongoCallLog(db_if_mongo)


def test_a_swap_stores_only_over_the_attempt_it_was_merged_from(log: CallHistory) -> None:
    first = attempt("a", 0)
    log.record(first)
    answered = attrs.evolve(first, answered_at=T0 + timedelta(seconds=3))
    attached = attrs.evolve(first, attached_at=T0 + timedelta(seconds=4), worker="h/w1")
    assert log.swap(first, answered)
    # Merged from the same read as `answered`: it lost the race and must be merged again.
    assert not log.swap(first, attached)
    assert log.get("a") == answered
    assert not log.swap(attempt("nobody", 0), attempt("nobody", 1))
    assert log.get("nobody") is None


def test_a_tally_counts_the_dials_of_one_campaign_in_a_span(log: CallHistory) -> None:
    log.record(attempt("a", 0, disposition=Disposition.COMPLETED))
    log.record(attempt("b", 1, disposition=Disposition.COMPLETED))
    log.record(attempt("c", 2, disposition=Disposition.ABANDONED))
    log.record(attempt("d", 3, attached=True))
    log.record(attempt("e", 4))
    log.record(attempt("f", 60, disposition=Disposition.NO_ANSWER))
    log.record(attempt("g", 1, campaign_id="c2", disposition=Disposition.BUSY))
    assert log.tally("c1", T0, T0 + timedelta(minutes=60)) == CallTally(
        dials=5,
        in_call=1,
        outcomes={Disposition.COMPLETED: 2, Disposition.ABANDONED: 1},
    )
    assert log.tally("c1", T0 + timedelta(minutes=4), T0 + timedelta(hours=2)) == CallTally(
        dials=2, outcomes={Disposition.NO_ANSWER: 1}
    )
    assert log.tally("c9", T0, T0 + timedelta(hours=2)) == CallTally()


def test_a_search_pages_newest_first_by_its_cursor(log: CallHistory) -> None:
    for n in range(7):
        log.record(attempt(f"x{n}", n % 3))  # several dials share an instant
    log.record(attempt("other", 1, tenant_id="t2"))
    seen: list[str] = []
    before = None
    while True:
        page = log.search(CallQuery("t1", before=before, limit=3))
        seen += [a.id for a in page]
        if len(page) < 3:
            break
        before = (page[-1].dialed_at, page[-1].id)
    expected = sorted(
        (attempt(f"x{n}", n % 3) for n in range(7)), key=lambda a: (a.dialed_at, a.id)
    )
    assert seen == [a.id for a in reversed(expected)]


def test_a_search_filters_by_campaign_disposition_and_span(log: CallHistory) -> None:
    log.record(attempt("a", 0, disposition=Disposition.COMPLETED))
    log.record(attempt("b", 5, disposition=Disposition.COMPLETED))
    log.record(attempt("c", 10, disposition=Disposition.BUSY))
    log.record(attempt("d", 6, campaign_id="c2", disposition=Disposition.COMPLETED))

    def ids(**fields: object) -> list[str]:
        return [a.id for a in log.search(CallQuery("t1", **fields))]  # type: ignore[arg-type]

    assert ids() == ["c", "d", "b", "a"]
    assert ids(campaign_id="c1") == ["c", "b", "a"]
    assert ids(disposition=Disposition.COMPLETED) == ["d", "b", "a"]
    assert ids(since=T0 + timedelta(minutes=5), until=T0 + timedelta(minutes=10)) == ["d", "b"]
    assert ids(campaign_id="c1", disposition=Disposition.BUSY) == ["c"]
    assert log.search(CallQuery("t2")) == []


@pytest.mark.parametrize("limit", [0, 501, True])
def test_a_search_limit_is_bounded(limit: int) -> None:
    with pytest.raises(ValidationError) as refused:
        CallQuery("t1", limit=limit)
    assert refused.value.field == "limit"


def test_a_tally_leaves_out_dials_the_provider_turned_down(log: CallHistory) -> None:
    """A `not_placed` record (the trunk was throttled, the provider refused) reached nobody:
    it is neither a dial nor an outcome in the campaign's figures."""
    log.record(attempt("a", 0, disposition=Disposition.BUSY))
    turned_down = attrs.evolve(
        attempt("b", 1), ended_at=T0 + timedelta(minutes=1), not_placed="throttled"
    )
    log.record(turned_down)
    log.record(
        attrs.evolve(attempt("c", 2), ended_at=T0 + timedelta(minutes=2), not_placed="refused")
    )
    assert log.tally("c1", T0, T0 + timedelta(hours=1)) == CallTally(
        dials=1, outcomes={Disposition.BUSY: 1}
    )


def standalone(call_id: str, minute: int, origin: CallOrigin = CallOrigin.DIALOUT) -> CallAttempt:
    dialed = T0 + timedelta(minutes=minute)
    return CallAttempt(call_id, "", "", "t1", 1, "", dialed, origin=origin)


def test_a_first_record_stores_once_and_never_overwrites(log: CallHistory) -> None:
    first = standalone("lk-1", 0)
    assert log.record_first(first) == first
    assert log.get("lk-1") == first
    # A second report's attempt, made at the same time: the first one stays.
    later = standalone("lk-1", 3, CallOrigin.WIDGET)
    assert log.record_first(later) == first
    assert log.get("lk-1") == first
    # Nor does it overwrite a campaign's call of the same id.
    dialled = attempt("call-1", 0, attached=True)
    log.record(dialled)
    assert log.record_first(standalone("call-1", 1)) == dialled
    assert log.get("call-1") == dialled


def test_a_stand_alone_call_grows_by_swap_and_counts_in_no_campaign(log: CallHistory) -> None:
    first = log.record_first(standalone("lk-1", 5, CallOrigin.WIDGET))
    # A report from earlier than the first one stored moves its dial back.
    grown = attrs.evolve(
        first,
        dialed_at=T0 + timedelta(minutes=4),
        attached_at=T0 + timedelta(minutes=4),
        worker="h/w1",
    )
    assert log.swap(first, grown)
    assert not log.swap(first, attrs.evolve(first, disposition=Disposition.FAILED))
    assert log.get("lk-1") == grown
    log.record(attempt("a", 0, disposition=Disposition.COMPLETED))
    assert log.tally("c1", T0, T0 + timedelta(hours=1)) == CallTally(
        dials=1, outcomes={Disposition.COMPLETED: 1}
    )
    assert [a.id for a in log.search(CallQuery("t1"))] == ["lk-1", "a"]
    assert [a.id for a in log.search(CallQuery("t1", campaign_id="c1"))] == ["a"]
    assert log.search(CallQuery("t2")) == []
