"""What a SIP final response means for a dial, shared by the LiveKit adapter, the fake
telephony and the simulated carrier so all three turn a carrier's answer into the same
`DialResult`, or the same error (`dial_refused`). Pure: no I/O, and no `livekit-api` (a worker
loads that at its first LiveKit request)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from voxcore_domain.errors import ValidationError
from voxcore_domain.model import Disposition
from voxcore_domain.ports import (
    DialRequest,
    DialResult,
    TelephonyError,
    TelephonyRefused,
    TrunkThrottled,
)
from voxcore_domain.validators import E164

SIP_CALL_STATUS = "sip.callStatus"
"""Participant attribute LiveKit sets on a phone leg: dialing, ringing, automation, active or
hangup. `participant_joined` fires at ringing, so this, not the event, says a call was answered."""

BUSY = frozenset({486, 600})
"""Busy Here, Busy Everywhere."""
NO_ANSWER = frozenset({408, 480, 487})
"""Request Timeout, Temporarily Unavailable (phone off or out of coverage), Request Terminated
(the INVITE was cancelled while ringing): nobody picked up, try again later."""
DECLINED = frozenset({403, 603, 607, 608})
"""Forbidden, Decline, Unwanted, Rejected: the callee or their network refused the call."""
INVALID = frozenset({404, 410, 484, 604})
"""Not Found, Gone, Address Incomplete, Does Not Exist Anywhere: the number is wrong."""
TRUNK_AUTH = frozenset({401, 407})
"""The carrier asks for credentials: the trunk is misconfigured, not the callee."""

# Carriers (Twilio among them) answer 5xx when the customer's own trunk is over its calls-per-
# second or concurrent-call cap; only the reason phrase tells it from a real failure. LiveKit's
# SIP bridge matches the same phrases.
_TRUNK_LIMIT = re.compile(
    r"cps limit exceeded|concurrent call limit exceeded|calls per second", re.IGNORECASE
)

SIP_TWIRP_CODE: Mapping[int, str] = {
    400: "invalid_argument",
    401: "permission_denied",
    402: "permission_denied",
    403: "permission_denied",
    404: "not_found",
    405: "invalid_argument",
    406: "invalid_argument",
    407: "unauthenticated",
    408: "deadline_exceeded",
    409: "failed_precondition",
    410: "not_found",
    480: "resource_exhausted",
    481: "not_found",
    482: "failed_precondition",
    483: "failed_precondition",
    484: "invalid_argument",
    485: "invalid_argument",
    486: "resource_exhausted",
    487: "aborted",
    488: "invalid_argument",
    491: "aborted",
    500: "failed_precondition",
    501: "failed_precondition",
    502: "failed_precondition",
    503: "failed_precondition",
    504: "deadline_exceeded",
    505: "invalid_argument",
    513: "invalid_argument",
    600: "resource_exhausted",
    603: "permission_denied",
    604: "not_found",
    606: "invalid_argument",
    607: "permission_denied",
    608: "permission_denied",
}
"""The Twirp code of LiveKit's answer to a dial that ended with each SIP final response
(`livekit/protocol` `SIPStatus.GRPCStatus`); `twirp_code_for_sip` adds its fallbacks."""

SIP_IDENTITY_PREFIX = "sip-"
AGENT_IDENTITY_PREFIX = "agent-"
MAX_RING_TIMEOUT_S = 600.0
MAX_ROOM_NAME = 256


def is_trunk_limit(sip_status: int, reason: str) -> bool:
    """A 5xx whose reason says the trunk is over its rate or concurrency cap."""
    return 500 <= sip_status < 600 and bool(_TRUNK_LIMIT.search(reason))


def twirp_code_for_sip(sip_status: int) -> str:
    """The Twirp code LiveKit answers a dial that ended with `sip_status` with (`livekit/protocol`
    `SIPStatus.GRPCStatus`, including its fallbacks by class)."""
    if sip_status in SIP_TWIRP_CODE:
        return SIP_TWIRP_CODE[sip_status]
    if 500 <= sip_status < 600:
        return "failed_precondition"
    if 300 <= sip_status < 700:
        return "invalid_argument"
    return "unknown"


def dial_refused(
    request: DialRequest,
    sip_status: int,
    reason: str,
    *,
    retry_after_s: float,
    code: str | None = None,
) -> DialResult | TelephonyError:
    """What a dial the carrier ended with the final response `sip_status` `reason` comes to:
    `TrunkThrottled` (to back off for `retry_after_s`) when the trunk is over its cap,
    `TelephonyRefused` when the carrier asks for the trunk's credentials, else the failed
    dial's `DialResult`. An error is returned for the caller to raise. `code` is the Twirp code
    LiveKit answered with; without one (the fakes) it is the code LiveKit would have given."""
    code = twirp_code_for_sip(sip_status) if code is None else code
    if is_trunk_limit(sip_status, reason):
        return TrunkThrottled(
            request.trunk_id,
            f"carrier refused the dial: {sip_status} {reason}",
            retry_after_s=retry_after_s,
            sip_status=sip_status,
            code=code,
        )
    if sip_status in TRUNK_AUTH:
        return TelephonyRefused(
            f"trunk {request.trunk_id}: carrier asks for credentials ({sip_status} {reason})",
            code=code,
        )
    return DialResult(request.call_id, None, disposition_for_sip(sip_status), sip_status)


def disposition_for_sip(sip_status: int) -> Disposition:
    """How a dial ended when the far end answered with this SIP final response (not 2xx)."""
    if sip_status in BUSY:
        return Disposition.BUSY
    if sip_status in NO_ANSWER:
        return Disposition.NO_ANSWER
    if sip_status in DECLINED:
        return Disposition.DECLINED
    if sip_status in INVALID:
        return Disposition.INVALID_NUMBER
    return Disposition.FAILED


def sip_identity(call_id: str) -> str:
    """The LiveKit participant identity of a call's phone leg."""
    return SIP_IDENTITY_PREFIX + call_id


def agent_identity(call_id: str) -> str:
    """The LiveKit participant identity of the voice agent in a call's room, whoever made its
    token: the worker (a room it dialled or a widget's) or the dialler (a room it attaches)."""
    return AGENT_IDENTITY_PREFIX + call_id


def check_text(field: str, value: str, limit: int = MAX_ROOM_NAME) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "must not be empty")
    if len(value) > limit:
        raise ValidationError(field, f"must be at most {limit} characters")
    return value


def check_ring_timeout(field: str, seconds: float) -> float:
    if not isinstance(seconds, int | float) or not 0 < seconds <= MAX_RING_TIMEOUT_S:
        raise ValidationError(field, f"must be above 0 and at most 600 seconds, got {seconds!r}")
    return float(seconds)


def check_dial(request: DialRequest) -> DialRequest:
    """Refuse a request LiveKit would refuse or misroute, naming the bad field."""
    if not isinstance(request, DialRequest):
        raise ValidationError("request", f"must be a DialRequest, got {type(request).__name__}")
    check_text("call_id", request.call_id, 128)
    check_text("trunk_id", request.trunk_id, 128)
    check_text("room", request.room)
    for field, number in (("to", request.to), ("caller_id", request.caller_id)):
        if field == "caller_id" and number == "":
            continue  # the trunk's own number
        if not isinstance(number, str) or not E164.match(number):
            raise ValidationError(field, f"{number!r} is not an E.164 number like +14155550123")
    check_ring_timeout("ring_timeout_s", request.ring_timeout_s)
    return request


def transfer_target(to: str) -> str:
    """`tel:+E164` for a number, a `sip:`/`sips:` URI as given."""
    if isinstance(to, str) and E164.match(to):
        return f"tel:{to}"
    if isinstance(to, str) and re.match(r"^sips?:[^\s@]+@[^\s@]+$", to):
        return to
    raise ValidationError("to", f"{to!r} is neither an E.164 number nor a sip: URI")
