"""`POST /v1/internal/call-events`: the fleet's reports of its calls, as docs/repository-map.md
("The call-event contract") asks: idempotent, in any order, fenced by the lease."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import attrs
import pytest
from litestar.testing import TestClient
from redis.exceptions import ConnectionError as RedisConnectionError

from apps.api.deps import Deps
from apps.api.main import create_app
from apps.api.settings import Settings
from tests.api.calls_support import LEASE_TTL, Dialled, dial, post_report, report
from tests.api.support import TenantSession, assert_error, bearer, make_campaign, make_tenant
from voxcore_adapters.fakes.redis_fakes import ManualClock
from voxcore_domain.callevents import CallEvent, CallEventKind, StreamedEvent
from voxcore_domain.callreports import CallReport
from voxcore_domain.model import ContactState, Disposition
from voxcore_domain.ports import CallEvents


@pytest.fixture
def campaign(client: TestClient[Any], acme: TenantSession) -> str:
    campaign_id = make_campaign(client, acme)
    assert client.post(f"/v1/campaigns/{campaign_id}/start", headers=acme.headers).is_success
    return campaign_id


@pytest.fixture
def call(client: TestClient[Any], deps: Deps, acme: TenantSession, campaign: str) -> Dialled:
    return dial(client, deps, acme, campaign, "+14155550101", "call0001")


def streamed(deps: Deps, campaign_id: str) -> list[tuple[CallEventKind, Disposition | None]]:
    events = asyncio.run(deps.call_events.read(campaign_id))
    return [(e.event.kind, e.event.disposition) for e in events]


def contact_state(deps: Deps, call: Dialled) -> ContactState:
    contact = deps.leases.get(call.lease.contact_id)  # type: ignore[attr-defined]
    return contact.state  # type: ignore[no-any-return]


def test_a_call_reported_start_to_end_grows_its_attempt_and_closes_its_contact(
    client: TestClient[Any], deps: Deps, call: Dialled, clock: ManualClock
) -> None:
    t0 = clock.now()
    attached = post_report(client, report(call, 1, "attached", t0, worker="host-1/voxcore_3"))
    assert attached.status_code == 202, attached.text
    assert attached.json() == {"duplicate": False, "contact": "unchanged", "contact_state": None}
    ended = post_report(
        client,
        report(call, 2, "ended", t0 + timedelta(seconds=90), disposition="completed"),
    )
    assert ended.status_code == 202, ended.text
    assert ended.json() == {"duplicate": False, "contact": "closed", "contact_state": "done"}

    attempt = deps.call_log.get(call.call_id)
    assert attempt is not None
    assert (attempt.attached_at, attempt.ended_at) == (t0, t0 + timedelta(seconds=90))
    assert (attempt.disposition, attempt.worker) == (Disposition.COMPLETED, "host-1/voxcore_3")
    assert contact_state(deps, call) is ContactState.DONE
    assert streamed(deps, call.attempt.campaign_id) == [
        (CallEventKind.ATTACHED, None),
        (CallEventKind.ENDED, Disposition.COMPLETED),
    ]


def test_a_repeat_answers_200_and_changes_nothing(
    client: TestClient[Any], deps: Deps, call: Dialled, clock: ManualClock
) -> None:
    body = report(call, 1, "ended", clock.now(), disposition="no_answer")
    assert post_report(client, body).status_code == 202
    attempt = deps.call_log.get(call.call_id)
    again = post_report(client, body)
    assert again.status_code == 200
    assert again.json() == {"duplicate": True, "contact": "unchanged", "contact_state": None}
    assert deps.call_log.get(call.call_id) == attempt
    assert len(streamed(deps, call.attempt.campaign_id)) == 1


def test_reports_out_of_order_only_grow_the_attempt_and_the_first_end_wins(
    client: TestClient[Any], deps: Deps, call: Dialled, clock: ManualClock
) -> None:
    t0 = clock.now()
    first_end = report(call, 3, "ended", t0 + timedelta(seconds=60), disposition="hung_up")
    assert post_report(client, first_end).json()["contact"] == "closed"
    # Spooled earlier reports arrive late; a second end (a worker bug) changes nothing.
    assert post_report(client, report(call, 2, "attached", t0 + timedelta(seconds=2))).is_success
    assert post_report(client, report(call, 1, "answered", t0 + timedelta(seconds=1))).is_success
    late_end = report(call, 4, "ended", t0 + timedelta(seconds=70), disposition="failed")
    assert post_report(client, late_end).json() == {
        "duplicate": False,
        "contact": "unchanged",
        "contact_state": None,
    }
    attempt = deps.call_log.get(call.call_id)
    assert attempt is not None
    assert attempt.answered_at == t0 + timedelta(seconds=1)
    assert attempt.attached_at == t0 + timedelta(seconds=2)
    assert (attempt.ended_at, attempt.disposition) == (
        t0 + timedelta(seconds=60),
        Disposition.HUNG_UP,
    )
    contact = deps.leases.get(call.lease.contact_id)  # type: ignore[attr-defined]
    assert (contact.state, contact.last_disposition) == (ContactState.DONE, Disposition.HUNG_UP)


def test_a_stale_lease_records_the_outcome_but_leaves_the_contact(
    client: TestClient[Any], deps: Deps, call: Dialled, clock: ManualClock
) -> None:
    body = report(call, 1, "ended", clock.now(), disposition="busy", lease_token="f" * 32)
    answer = post_report(client, body)
    assert answer.status_code == 202
    assert answer.json()["contact"] == "stale"
    attempt = deps.call_log.get(call.call_id)
    assert attempt is not None
    assert attempt.disposition is Disposition.BUSY
    assert contact_state(deps, call) is ContactState.ATTACHED


def test_an_expired_lease_is_stale_too(
    client: TestClient[Any], deps: Deps, call: Dialled, clock: ManualClock
) -> None:
    clock.advance(LEASE_TTL + timedelta(seconds=1))
    body = report(call, 1, "ended", clock.now(), disposition="completed")
    assert post_report(client, body).json()["contact"] == "stale"
    assert contact_state(deps, call) is ContactState.ATTACHED


def test_a_report_stored_but_not_applied_is_finished_by_its_repeat(
    client: TestClient[Any], deps: Deps, call: Dialled, clock: ManualClock
) -> None:
    # As if the API died after storing the report: the worker's retry applies it.
    event = CallEvent(
        "ended",
        call.call_id,
        call.attempt.campaign_id,
        call.attempt.tenant_id,
        clock.now(),
        "completed",
    )
    assert deps.call_reports.add(CallReport(call.call_id, 1, event, call.lease.token)) is None
    body = report(call, 1, "ended", clock.now(), disposition="completed")
    answer = post_report(client, body)
    assert (answer.status_code, answer.json()["contact"]) == (202, "closed")
    assert post_report(client, body).json()["duplicate"] is True


def test_a_sequence_number_used_by_another_step_is_a_conflict(
    client: TestClient[Any], call: Dialled, clock: ManualClock
) -> None:
    assert post_report(client, report(call, 1, "answered", clock.now())).status_code == 202
    other = post_report(client, report(call, 1, "attached", clock.now()))
    assert_error(other, 409, "sequence", "conflict")


def test_a_call_without_an_attempt_is_404(
    client: TestClient[Any], call: Dialled, clock: ManualClock
) -> None:
    body = report(call, 1, "answered", clock.now(), call_id="nobody")
    assert_error(post_report(client, body), 404, "call_id", "not_found")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "rang"}, "kind"),
        ({"kind": None}, "kind"),
        ({"sequence": 0}, "sequence"),
        ({"sequence": "one"}, "sequence"),
        ({"at": "2024-06-05T12:00:00"}, "at"),
        ({"at": "yesterday"}, "at"),
        ({"disposition": "completed"}, "disposition"),
        ({"kind": "ended"}, "disposition"),
        ({"kind": "ended", "disposition": "hung up"}, "disposition"),
        ({"tenant_id": "someone-else"}, "tenant_id"),
        ({"campaign_id": "another"}, "campaign_id"),
        ({"call_id": ""}, "call_id"),
        ({"lease_token": ""}, "lease_token"),
        ({"detail": {"transcript": "hello"}}, "detail.transcript"),
        ({"detail": {"recording_key": 7}}, "detail.recording_key"),
        ({"detail": []}, "detail"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_a_bad_report_is_400_naming_the_field(
    client: TestClient[Any], call: Dialled, clock: ManualClock, change: dict[str, Any], field: str
) -> None:
    body = report(call, 1, "answered", clock.now()) | change
    body = {k: v for k, v in body.items() if v is not None}
    assert_error(post_report(client, body), 400, field, "bad_request")


def test_only_the_internal_token_may_report(
    client: TestClient[Any], acme: TenantSession, call: Dialled, clock: ManualClock
) -> None:
    body = report(call, 1, "answered", clock.now())
    refused = client.post("/v1/internal/call-events", json=body, headers=acme.headers)
    assert_error(refused, 403, None, "forbidden")
    anonymous = client.post("/v1/internal/call-events", json=body, headers=bearer("x"))
    assert_error(anonymous, 401, None)


class FlakyEvents:
    """The campaign streams, unreachable for the first `failures` publishes."""

    def __init__(self, events: CallEvents, failures: int) -> None:
        self._events = events
        self._failures = failures

    async def publish(self, event: CallEvent) -> str:
        if self._failures:
            self._failures -= 1
            raise RedisConnectionError("redis is down")
        return await self._events.publish(event)

    async def read(
        self, campaign_id: str, after: str = "0-0", count: int = 100, wait: timedelta | None = None
    ) -> list[StreamedEvent]:
        return await self._events.read(campaign_id, after, count, wait)

    async def last_id(self, campaign_id: str) -> str:
        return await self._events.last_id(campaign_id)


def test_a_report_that_failed_halfway_is_finished_by_the_workers_retry(
    settings: Settings, deps: Deps, clock: ManualClock
) -> None:
    flaky = attrs.evolve(deps, call_events=FlakyEvents(deps.call_events, failures=1))
    with TestClient(create_app(settings, flaky)) as client:
        acme = make_tenant(client, "Acme")
        campaign = make_campaign(client, acme)
        assert client.post(f"/v1/campaigns/{campaign}/start", headers=acme.headers).is_success
        call = dial(client, flaky, acme, campaign, "+14155550101", "call0001")
        body = report(call, 1, "ended", clock.now(), disposition="completed")
        assert_error(post_report(client, body), 503, None, "unavailable")
        # The first try got as far as the contact; the retry publishes and marks it applied.
        assert contact_state(flaky, call) is ContactState.DONE
        assert streamed(flaky, campaign) == []
        retried = post_report(client, body)
        assert retried.status_code == 202
        # Its lease was dropped when the first try closed the contact.
        assert retried.json()["contact"] == "stale"
        assert streamed(flaky, campaign) == [(CallEventKind.ENDED, Disposition.COMPLETED)]
        assert post_report(client, body).json()["duplicate"] is True
