"""LiveKit webhooks as LiveKit sends them, signed with livekit-api's own token code."""

from __future__ import annotations

import base64
import hashlib
import time
from datetime import timedelta

from google.protobuf import json_format
from livekit.api import AccessToken
from livekit.protocol.models import ParticipantInfo, Room
from livekit.protocol.webhook import WebhookEvent

LIVEKIT_KEY = "APIinbound"
LIVEKIT_SECRET = "an-inbound-webhook-secret-long-enough-for-hs256"
CALLED = "+14155550170"
CALLER = "+14155550999"


def caller_joined(
    event_id: str = "EV_in_1",
    called: str = CALLED,
    sip_call_id: str = "SCL_in1",
    **attributes: str,
) -> WebhookEvent:
    """`participant_joined` for a SIP caller who dialled `called`, as LiveKit reports it."""
    return WebhookEvent(
        event="participant_joined",
        id=event_id,
        created_at=int(time.time()),
        room=Room(sid="RM_in", name="inbound-room-1"),
        participant=ParticipantInfo(
            sid="PA_in",
            identity=f"sip_{CALLER}",
            kind=ParticipantInfo.Kind.SIP,
            attributes={
                "sip.callID": sip_call_id,
                "sip.callStatus": "active",
                "sip.phoneNumber": CALLER,
                "sip.trunkPhoneNumber": called,
            }
            | attributes,
        ),
    )


def signed(
    event: WebhookEvent,
    *,
    key: str = LIVEKIT_KEY,
    secret: str = LIVEKIT_SECRET,
    ttl: timedelta = timedelta(minutes=5),
    body: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of the webhook: the token signs the SHA-256 of the event's JSON, and
    `body` (when given) is what is sent instead, to tamper with it."""
    text = json_format.MessageToJson(event)
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    token = AccessToken(key, secret).with_sha256(digest).with_ttl(ttl).to_jwt()
    headers = {"Authorization": token, "Content-Type": "application/webhook+json"}
    return (text if body is None else body).encode(), headers
