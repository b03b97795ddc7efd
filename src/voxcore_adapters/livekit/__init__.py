"""LiveKit: outbound SIP calls, transfers, browser tokens and webhook verification."""

from voxcore_adapters.livekit.settings import LiveKitSettings
from voxcore_adapters.livekit.telephony import LiveKitTelephony
from voxcore_adapters.livekit.tokens import (
    WebhookRejected,
    WebhookVerifier,
    sip_call_status,
    widget_token,
)

__all__ = [
    "LiveKitSettings",
    "LiveKitTelephony",
    "WebhookRejected",
    "WebhookVerifier",
    "sip_call_status",
    "widget_token",
]
