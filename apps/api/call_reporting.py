"""What the API does with a fleet worker's report of a call (`POST /v1/internal/call-events`).

In order, each step safe to repeat:

1. the report is stored under its `(call_id, sequence)`, not yet applied: a repeat of an applied
   report changes nothing; a repeat of one whose applying stopped halfway (the API died, Redis
   was down) finishes it;
2. the call's attempt grows by the report (`callreports.merge`), by compare-and-set, so two
   reports of one call arriving at once cannot undo each other;
3. on the `ended` that decided the call, the contact is closed through the campaign's retry
   policy, fenced by the report's lease token: a stale token changes no contact;
4. the event is published to the campaign's stream (at least once: a report applied twice
   after a failure halfway publishes twice);
5. the report is marked applied.

A stand-alone call (a worker's own dial-out or widget call) has no attempt until its first
report arrives: a report that says it is one (`CallReport.standalone`) records the attempt if
there is none yet, once its agent is found to be its tenant's, so a report cannot file a call
under a tenant its agent is not of. Such a call, like an inbound one, closes no contact;
having no campaign, it is published to no campaign's stream.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum

import anyio.to_thread
import attrs

from apps.api.deps import Deps
from apps.api.errors import Conflict, NotFound
from voxcore_domain.callevents import CallEventKind
from voxcore_domain.callreports import CallReport, merge, standalone_attempt
from voxcore_domain.errors import InvalidTransition, StaleLease, ValidationError
from voxcore_domain.model import CallAttempt, CallOrigin, ContactState, Lease

log = logging.getLogger(__name__)

SWAP_ROUNDS = 20
"""Merges tried before giving up on a call whose attempt keeps changing underneath."""


class ContactOutcome(StrEnum):
    CLOSED = "closed"
    """The report ended the call and its contact was closed by the retry policy."""
    STALE = "stale"
    """The report ended the call, but its lease token no longer holds the contact in a call:
    the contact was left as it is (the lease's new holder, or `recover_expired`, decides)."""
    UNCHANGED = "unchanged"
    """The report does not end the call (or an earlier `ended` already did)."""


@attrs.frozen
class Applied:
    """What one report did."""

    duplicate: bool
    """A repeat of a report already applied: nothing changed."""
    contact: ContactOutcome
    contact_state: ContactState | None = None
    """The contact's state after it was closed."""


async def receive(deps: Deps, report: CallReport) -> Applied:
    """Apply `report` (see the module's docstring); `NotFound` for a call without an attempt
    (but a stand-alone one's), `ValidationError` for a report whose tenant, campaign or origin
    is not its call's, or a campaign's call reported without a lease token, `Conflict` for a
    sequence number already used by another step of the call."""
    attempt = await anyio.to_thread.run_sync(deps.call_log.get, report.call_id)
    if attempt is None:
        if report.standalone is None:
            raise NotFound("call", report.call_id)
        attempt = await anyio.to_thread.run_sync(_record_standalone, deps, report)
    for field in ("tenant_id", "campaign_id"):
        if getattr(report.event, field) != getattr(attempt, field):
            raise ValidationError(field, f"is not the {field} of call {report.call_id!r}")
    if report.standalone is not None and report.standalone.origin is not attempt.origin:
        raise ValidationError("origin", f"is not the origin of call {report.call_id!r}")
    if attempt.origin is CallOrigin.CAMPAIGN and not report.lease_token:
        raise ValidationError("lease_token", "is required for a campaign's call")
    stored = await anyio.to_thread.run_sync(deps.call_reports.add, report)
    if stored is not None:
        if not stored.report.same_step(report):
            raise Conflict(
                f"call {report.call_id!r} already has another report {report.sequence}",
                field="sequence",
            )
        if stored.applied:
            return Applied(duplicate=True, contact=ContactOutcome.UNCHANGED)
        log.info("finishing report %s of call %s", report.sequence, report.call_id)
    grown = await anyio.to_thread.run_sync(_grow, deps, report)
    applied = Applied(duplicate=False, contact=ContactOutcome.UNCHANGED)
    if grown.origin is CallOrigin.CAMPAIGN and _decided_by(grown, report):
        applied = await anyio.to_thread.run_sync(_close_contact, deps, grown, report)
    if report.event.campaign_id:
        await deps.call_events.publish(report.event)
    await anyio.to_thread.run_sync(deps.call_reports.mark_applied, *report.key)
    return applied


def _record_standalone(deps: Deps, report: CallReport) -> CallAttempt:
    """The stand-alone call's attempt, recorded now unless a report at the same moment did."""
    standalone = report.standalone
    if standalone is None:
        raise ValidationError("origin", "only a stand-alone call is recorded by its report")
    tenant_id = report.event.tenant_id
    agent = deps.agents.get(standalone.agent_id)
    if agent is None or agent.tenant_id != tenant_id:
        raise ValidationError("agent_id", f"is not an agent of tenant {tenant_id!r}")
    return deps.call_log.record_first(standalone_attempt(report))


def _grow(deps: Deps, report: CallReport) -> CallAttempt:
    for _ in range(SWAP_ROUNDS):
        attempt = deps.call_log.get(report.call_id)
        if attempt is None:
            raise NotFound("call", report.call_id)
        grown = merge(attempt, report.event)
        if grown == attempt or deps.call_log.swap(attempt, grown):
            return grown
    raise RuntimeError(f"call {report.call_id} kept changing while a report was merged")


def _decided_by(attempt: CallAttempt, report: CallReport) -> bool:
    """Whether `report` is the `ended` that decided how the call ended."""
    event = report.event
    return (
        event.kind is CallEventKind.ENDED
        and attempt.ended_at == event.at
        and attempt.disposition is event.disposition
    )


def _close_contact(deps: Deps, attempt: CallAttempt, report: CallReport) -> Applied:
    campaign = deps.campaigns.get(attempt.campaign_id)
    disposition = report.event.disposition
    if campaign is None or disposition is None:
        raise NotFound("campaign", attempt.campaign_id)
    now: datetime = deps.clock.now()
    # The store fences by the token and the contact's own lease expiry; this expiry is unused.
    lease = Lease(attempt.contact_id, "fleet", report.lease_token, now)
    try:
        contact = deps.leases.complete(lease, campaign, disposition, now)
    except (StaleLease, InvalidTransition) as refused:
        log.info("call %s ended; contact left as it is: %s", attempt.id, refused)
        return Applied(duplicate=False, contact=ContactOutcome.STALE)
    return Applied(duplicate=False, contact=ContactOutcome.CLOSED, contact_state=contact.state)
