"""Browser tokens for the web widget and verification of LiveKit's webhooks."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import timedelta

import jwt
from google.protobuf.json_format import ParseError
from livekit.api import AccessToken, TokenVerifier, VideoGrants, WebhookReceiver
from livekit.protocol.models import ParticipantInfo
from livekit.protocol.webhook import WebhookEvent

from voxcore_adapters.livekit.outcomes import SIP_CALL_STATUS as SIP_CALL_STATUS
from voxcore_adapters.livekit.outcomes import check_text
from voxcore_domain.errors import DomainError, ValidationError

MAX_WIDGET_TTL = timedelta(hours=24)


class WebhookRejected(DomainError):
    """A webhook whose signature or body did not check out (an API answers 401)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"webhook rejected: {reason}")
        self.reason = reason


def widget_token(
    api_key: str,
    api_secret: str,
    room: str,
    identity: str,
    *,
    name: str = "",
    ttl: timedelta = timedelta(minutes=15),
) -> str:
    """A JWT that lets one browser join one room to talk to the voice agent, and nothing more:
    no room creation or admin rights."""
    check_text("room", room)
    check_text("identity", identity)
    if not isinstance(ttl, timedelta) or not timedelta(0) < ttl <= MAX_WIDGET_TTL:
        raise ValidationError("ttl", f"must be above 0 and at most 24 hours, got {ttl!r}")
    token = (
        AccessToken(api_key, api_secret)
        .with_identity(identity)
        .with_ttl(ttl)
        .with_grants(VideoGrants(room_join=True, room=room))
    )
    if name:
        token = token.with_name(name)
    return token.to_jwt()


AGENT_TOKEN_TTL = timedelta(hours=2)
"""Long enough for the longest call to reconnect with it; it grants one room only."""


def agent_token(
    api_key: str,
    api_secret: str,
    room: str,
    identity: str,
    *,
    ttl: timedelta = AGENT_TOKEN_TTL,
) -> str:
    """The worker's own token for a call's room: join it as an agent participant, publish its
    voice and hear the caller; no data messages, no room creation or admin rights."""
    check_text("room", room)
    check_text("identity", identity)
    if not isinstance(ttl, timedelta) or not timedelta(0) < ttl <= MAX_WIDGET_TTL:
        raise ValidationError("ttl", f"must be above 0 and at most 24 hours, got {ttl!r}")
    grants = VideoGrants(
        room_join=True,
        room=room,
        can_publish=True,
        can_subscribe=True,
        can_publish_data=False,
        can_publish_sources=["microphone"],
        agent=True,
    )
    return (
        AccessToken(api_key, api_secret)
        .with_identity(identity)
        .with_kind("agent")
        .with_ttl(ttl)
        .with_grants(grants)
        .to_jwt()
    )


class WebhookVerifier:
    """Checks LiveKit's webhook requests: the `Authorization` header is a JWT signed with the API
    secret whose `sha256` claim is the base64 SHA-256 of the exact body."""

    def __init__(self, api_key: str, api_secret: str) -> None:
        check_text("api_key", api_key)
        check_text("api_secret", api_secret)
        self._verifier = TokenVerifier(api_key, api_secret)
        self._receiver = WebhookReceiver(self._verifier)

    def verify(self, body: bytes | str, authorization: str | None) -> WebhookEvent:
        """The event, or `WebhookRejected` saying what was wrong (never echoing the token)."""
        if not authorization:
            raise WebhookRejected("no Authorization header")
        token = authorization.removeprefix("Bearer ").strip()
        try:
            text = body.decode("utf-8") if isinstance(body, bytes) else body
        except UnicodeDecodeError as exc:
            raise WebhookRejected("body is not UTF-8") from exc
        try:
            claims = self._verifier.verify(token)
        except jwt.ExpiredSignatureError as exc:
            raise WebhookRejected("token expired") from exc
        except jwt.InvalidIssuerError as exc:
            raise WebhookRejected("token was issued for another API key") from exc
        except jwt.InvalidSignatureError as exc:
            raise WebhookRejected("bad signature") from exc
        except jwt.PyJWTError as exc:
            raise WebhookRejected(f"invalid token ({type(exc).__name__})") from exc
        if not claims.sha256:
            raise WebhookRejected("token has no sha256 claim")
        try:
            signed = base64.b64decode(claims.sha256, validate=True)
        except binascii.Error as exc:
            raise WebhookRejected("sha256 claim is not base64") from exc
        if not hmac.compare_digest(signed, hashlib.sha256(text.encode()).digest()):
            raise WebhookRejected("body does not match the signed sha256")
        try:
            # LiveKit's own receiver parses (and checks again) once the reasons are known.
            return self._receiver.receive(text, token)
        except ParseError as exc:
            raise WebhookRejected("body is not a LiveKit webhook event") from exc


def sip_call_status(event: WebhookEvent) -> str | None:
    """The phone leg's `sip.callStatus` when the event is about a SIP participant, else None."""
    if not event.HasField("participant"):
        return None
    participant = event.participant
    if participant.kind != ParticipantInfo.Kind.SIP:
        return None
    return participant.attributes.get(SIP_CALL_STATUS)
