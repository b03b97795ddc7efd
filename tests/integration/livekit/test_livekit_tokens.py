"""Widget tokens and webhook verification: signed by the double as LiveKit signs, checked by
the adapter with livekit-api's `WebhookReceiver(TokenVerifier(...))`."""

from __future__ import annotations

import base64
import hashlib
import time
from datetime import timedelta

import jwt
import pytest
from livekit.api import TokenVerifier
from livekit.protocol.models import ParticipantInfo, Room
from livekit.protocol.webhook import WebhookEvent

from voxcore_adapters.livekit import (
    LiveKitSettings,
    LiveKitTelephony,
    WebhookRejected,
    WebhookVerifier,
    sip_call_status,
    widget_token,
)
from voxcore_adapters.testing.livekit_double import LiveKitDouble
from voxcore_domain.errors import ValidationError

KEY = "APIwebhooks"
SECRET = "a-webhook-secret-that-is-long-enough-for-hs256"


def ringing_event() -> WebhookEvent:
    return WebhookEvent(
        event="participant_joined",
        id="EV_1",
        created_at=int(time.time()),
        room=Room(sid="RM_1", name="room-call-1"),
        participant=ParticipantInfo(
            sid="PA_1",
            identity="sip-call-1",
            kind=ParticipantInfo.Kind.SIP,
            attributes={"sip.callStatus": "ringing", "vox.call_id": "call-1"},
        ),
    )


@pytest.fixture
def signer() -> LiveKitDouble:
    """The double's webhook signer; it needs no running server."""
    return LiveKitDouble(KEY, SECRET)


def test_a_correctly_signed_webhook_is_parsed(signer: LiveKitDouble) -> None:
    body, authorization = signer.sign_webhook(ringing_event())

    event = WebhookVerifier(KEY, SECRET).verify(body.encode(), authorization)

    assert (event.event, event.room.name, event.participant.identity) == (
        "participant_joined",
        "room-call-1",
        "sip-call-1",
    )
    # participant_joined fires at ringing: the attribute, not the event, says "answered".
    assert sip_call_status(event) == "ringing"


def test_a_bearer_prefix_and_a_str_body_are_accepted(signer: LiveKitDouble) -> None:
    body, authorization = signer.sign_webhook(ringing_event())

    event = WebhookVerifier(KEY, SECRET).verify(body, f"Bearer {authorization}")

    assert event.id == "EV_1"


def test_a_tampered_body_is_rejected(signer: LiveKitDouble) -> None:
    body, authorization = signer.sign_webhook(ringing_event())
    tampered = body.replace("ringing", "active")

    with pytest.raises(WebhookRejected, match="does not match"):
        WebhookVerifier(KEY, SECRET).verify(tampered, authorization)


def test_a_webhook_signed_with_another_secret_is_rejected(signer: LiveKitDouble) -> None:
    body, authorization = signer.sign_webhook(ringing_event(), api_secret="x" * 40)

    with pytest.raises(WebhookRejected, match="bad signature") as rejected:
        WebhookVerifier(KEY, SECRET).verify(body, authorization)
    assert SECRET not in str(rejected.value)
    assert authorization not in str(rejected.value)


def test_a_webhook_for_another_api_key_is_rejected(signer: LiveKitDouble) -> None:
    body, authorization = signer.sign_webhook(ringing_event(), api_key="APIsomeoneelse")

    with pytest.raises(WebhookRejected, match="another API key"):
        WebhookVerifier(KEY, SECRET).verify(body, authorization)


def test_an_expired_webhook_is_rejected(signer: LiveKitDouble) -> None:
    body, authorization = signer.sign_webhook(ringing_event(), valid_for_s=-120)

    with pytest.raises(WebhookRejected, match="expired"):
        WebhookVerifier(KEY, SECRET).verify(body, authorization)


def _signed(claims: dict[str, object]) -> str:
    now = int(time.time())
    return jwt.encode({"iss": KEY, "nbf": now, "exp": now + 60, **claims}, SECRET, "HS256")


class _Signed:
    """Claims to sign when the test runs: a token signed at collection time would expire
    before its test runs in a long suite."""

    def __init__(self, claims: dict[str, object]) -> None:
        self.claims = claims


@pytest.mark.parametrize(
    ("body", "authorization", "reason"),
    [
        ("{}", None, "no Authorization header"),
        ("{}", "", "no Authorization header"),
        ("{}", "not-a-jwt", "invalid token"),
        ("{}", _Signed({}), "no sha256 claim"),
        ("{}", _Signed({"sha256": "%%%"}), "not base64"),
        (
            "not json",
            _Signed({"sha256": base64.b64encode(hashlib.sha256(b"not json").digest()).decode()}),
            "not a LiveKit webhook event",
        ),
        (b"\xff\xfe", _Signed({"sha256": "AAAA"}), "not UTF-8"),
    ],
)
def test_malformed_webhooks_are_rejected_with_the_reason(
    body: str | bytes, authorization: str | _Signed | None, reason: str
) -> None:
    if isinstance(authorization, _Signed):
        authorization = _signed(authorization.claims)
    with pytest.raises(WebhookRejected) as rejected:
        WebhookVerifier(KEY, SECRET).verify(body, authorization)
    assert reason in rejected.value.reason


def test_an_event_about_a_browser_has_no_sip_call_status() -> None:
    event = WebhookEvent(
        event="participant_joined", participant=ParticipantInfo(identity="browser-1")
    )
    assert sip_call_status(event) is None
    assert sip_call_status(WebhookEvent(event="room_started")) is None


def test_a_widget_token_lets_one_browser_join_one_room_and_nothing_else() -> None:
    token = widget_token(KEY, SECRET, "room-call-1", "visitor-7", name="Visitor")

    claims = TokenVerifier(KEY, SECRET).verify(token)

    assert (claims.identity, claims.name) == ("visitor-7", "Visitor")
    assert claims.video is not None
    assert (claims.video.room_join, claims.video.room) == (True, "room-call-1")
    assert not claims.video.room_create
    assert not claims.video.room_admin
    assert claims.sip is not None
    assert not claims.sip.call
    assert not claims.sip.admin
    raw = jwt.decode(token, SECRET, algorithms=["HS256"], issuer=KEY)
    assert raw["exp"] - raw["nbf"] == 15 * 60


def test_the_adapter_hands_out_widget_tokens_for_its_key() -> None:
    telephony = LiveKitTelephony(LiveKitSettings("https://livekit.example.com", KEY, SECRET))

    token = telephony.widget_token("room-1", "visitor-1", ttl=timedelta(minutes=2))

    assert TokenVerifier(KEY, SECRET).verify(token).identity == "visitor-1"


@pytest.mark.parametrize(
    ("room", "identity", "ttl", "field"),
    [
        ("", "v", timedelta(minutes=1), "room"),
        ("r", " ", timedelta(minutes=1), "identity"),
        ("r", "v", timedelta(0), "ttl"),
        ("r", "v", timedelta(days=2), "ttl"),
    ],
)
def test_a_bad_widget_request_is_refused_naming_the_field(
    room: str, identity: str, ttl: timedelta, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        widget_token(KEY, SECRET, room, identity, ttl=ttl)
    assert refused.value.field == field


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"url": "livekit.example.com"}, "url"),
        ({"api_key": ""}, "api_key"),
        ({"api_secret": ""}, "api_secret"),
        ({"request_timeout_s": 0}, "request_timeout_s"),
        ({"throttle_backoff_s": -1}, "throttle_backoff_s"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(changes: dict[str, object], field: str) -> None:
    values: dict[str, object] = {
        "url": "wss://livekit.example.com",
        "api_key": KEY,
        "api_secret": SECRET,
        **changes,
    }
    with pytest.raises(ValidationError) as refused:
        LiveKitSettings(**values)  # type: ignore[arg-type]
    assert refused.value.field == field


def test_settings_come_from_livekits_own_variable_names() -> None:
    settings = LiveKitSettings.from_env(
        {
            "LIVEKIT_URL": "wss://lk.example.com",
            "LIVEKIT_API_KEY": KEY,
            "LIVEKIT_API_SECRET": SECRET,
        }
    )
    assert (settings.url, settings.api_key, settings.api_secret) == (
        "wss://lk.example.com",
        KEY,
        SECRET,
    )
    assert SECRET not in repr(settings)
    with pytest.raises(ValidationError) as missing:
        LiveKitSettings.from_env({})
    assert missing.value.field == "url"
