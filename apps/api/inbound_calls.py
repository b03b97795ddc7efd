"""Inbound calls: a SIP caller who joins a LiveKit room on one of a tenant's inbound numbers is
attached to a fleet worker running the number's agent.

LiveKit reports the caller as a `participant_joined` webhook for a participant of kind SIP whose
attributes carry the called number (`sip.trunkPhoneNumber`), the caller's (`sip.phoneNumber`)
and LiveKit's SIP call id (`sip.callID`). Legs the dialler placed carry `vox.call_id` and are
not inbound. An inbound call has no campaign, contact or lease, so its attach names it thus:

- `call_id`: `in-<sip.callID>` (the participant's sid when LiveKit gave no call id);
- `campaign_id`: `inbound:<inbound number id>`, never a campaign's id (those are hex);
- `lease_token`: empty: there is no contact to fence;
- `variables`: `caller`, `called` and `room` (the LiveKit room the caller is in).

The call is recorded as a `CallAttempt` under that call id (contact `inbound:<caller>`, attempt
1, origin `inbound`) before the attach, then completed with `attached_at` and the host once one
took it (or ended `failed` when none did, until a redelivery places it), so the fleet's call
events find it like an outbound call's; having no lease, they close no contact.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta
from enum import StrEnum

import anyio.to_thread
import attrs
from livekit.protocol.models import ParticipantInfo
from livekit.protocol.webhook import WebhookEvent

from apps.api.deps import Deps
from voxcore_adapters.fleet.http import AttachRefused, HttpFleetClient
from voxcore_adapters.livekit.telephony import CALL_ID_ATTRIBUTE
from voxcore_domain.inbound import InboundNumber
from voxcore_domain.model import CallAttempt, CallOrigin, Disposition
from voxcore_domain.ports import AttachRequest

log = logging.getLogger(__name__)

CALLED_NUMBER = "sip.trunkPhoneNumber"
CALLER_NUMBER = "sip.phoneNumber"
SIP_CALL_ID = "sip.callID"
SIP_CALL_STATUS = "sip.callStatus"
INBOUND_CAMPAIGN_PREFIX = "inbound:"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,120}$")


class Outcome(StrEnum):
    """What the API did with a webhook, as its answer says."""

    IGNORED = "ignored"
    """Not an inbound SIP caller on a routed, enabled number."""
    DUPLICATE = "duplicate"
    """This event id was acted on already."""
    ATTACHED = "attached"
    UNPLACED = "unplaced"
    """No fleet host took the call (each full, draining, unreachable, or none enabled)."""
    REFUSED = "refused"
    """A fleet host refused the call itself (a 4xx but 429): every host would."""


@attrs.frozen
class Handled:
    outcome: Outcome
    call_id: str | None = None
    host: str | None = None


def inbound_call_id(participant: ParticipantInfo) -> str:
    """`in-<sip.callID>`, or of the participant's sid; hashed when not safe as a file name."""
    raw = participant.attributes.get(SIP_CALL_ID) or participant.sid
    if _SAFE_ID.match(raw):
        return f"in-{raw}"
    return "in-" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def inbound_caller(event: WebhookEvent) -> ParticipantInfo | None:
    """The event's participant, if it is a SIP caller coming in (not a leg the dialler placed,
    not one hanging up)."""
    if event.event != "participant_joined" or not event.HasField("participant"):
        return None
    participant = event.participant
    if participant.kind != ParticipantInfo.Kind.SIP:
        return None
    attributes = participant.attributes
    if CALL_ID_ATTRIBUTE in attributes or attributes.get(SIP_CALL_STATUS) == "hangup":
        return None
    return participant


async def handle_webhook(deps: Deps, event: WebhookEvent, carrier: str, ttl: timedelta) -> Handled:
    """Act once on a verified webhook: a repeat of an event id acted on is a duplicate. Until a
    host took the call, a failure (no host free, a store down) releases the event, so LiveKit's
    redelivery tries again; once one took it, the event stays claimed whatever happens next,
    so the call is never attached twice."""
    participant = inbound_caller(event)
    if participant is None:
        return Handled(Outcome.IGNORED)
    called = participant.attributes.get(CALLED_NUMBER, "")
    entry = await anyio.to_thread.run_sync(deps.inbound_numbers.by_number, called)
    if entry is None or not entry.enabled:
        return Handled(Outcome.IGNORED)
    event_id = event.id or f"{event.room.sid}/{participant.sid}"
    if not await deps.event_dedupe.claim(event_id, ttl):
        return Handled(Outcome.DUPLICATE)
    try:
        attempt, host = await _attach(deps, event, participant, entry, carrier)
    except BaseException:
        await deps.event_dedupe.release(event_id)
        raise
    if isinstance(host, Outcome):
        if host is Outcome.UNPLACED:
            await deps.event_dedupe.release(event_id)
        # Ended as failed until a redelivery places it (its record replaces this one).
        failed = attrs.evolve(attempt, ended_at=deps.clock.now(), disposition=Disposition.FAILED)
        await anyio.to_thread.run_sync(deps.call_log.record, failed)
        return Handled(host, attempt.id)
    now = deps.clock.now()
    attached = attrs.evolve(attempt, answered_at=now, attached_at=now, worker=host)
    await anyio.to_thread.run_sync(deps.call_log.record, attached)
    return Handled(Outcome.ATTACHED, attempt.id, host)


async def _attach(
    deps: Deps,
    event: WebhookEvent,
    participant: ParticipantInfo,
    entry: InboundNumber,
    carrier: str,
) -> tuple[CallAttempt, str | Outcome]:
    """The call's attempt, recorded, and the host that took the call, or why none did."""
    call_id = inbound_call_id(participant)
    caller = participant.attributes.get(CALLER_NUMBER, "")
    request = AttachRequest(
        call_id=call_id,
        tenant_id=entry.tenant_id,
        campaign_id=f"{INBOUND_CAMPAIGN_PREFIX}{entry.id}",
        agent_id=entry.agent_id,
        lease_token="",
        room=event.room.name,
        variables={"caller": caller, "called": entry.number, "room": event.room.name},
    )
    attempt = CallAttempt(
        id=call_id,
        contact_id=f"inbound:{caller or 'unknown'}",
        campaign_id=request.campaign_id,
        tenant_id=entry.tenant_id,
        number=1,
        lease_token="",
        dialed_at=deps.clock.now(),
        origin=CallOrigin.INBOUND,
    )
    await anyio.to_thread.run_sync(deps.call_log.record, attempt)
    hosts = [h for h in await anyio.to_thread.run_sync(deps.fleet_hosts.all) if h.enabled]
    fleet = HttpFleetClient({h.id: h.url for h in hosts}, deps.fleet_http, carrier)
    try:
        result = await fleet.attach(request, [h.id for h in hosts])
    except AttachRefused as refused:
        # A refusal about the call itself (a 4xx but 429): every host would give it.
        log.error("inbound call %s refused: %s", call_id, refused)
        return attempt, Outcome.REFUSED
    if not result.accepted or result.host is None:
        log.warning("inbound call %s: no fleet host took it", call_id)
        return attempt, Outcome.UNPLACED
    return attempt, result.host
