"""LiveKit: outbound SIP calls, transfers, browser tokens and webhook verification. The LiveKit
SDKs (`livekit.api`, `livekit.rtc`) are imported by the modules that use them, on first use
of one of their names here, so a worker without LiveKit never loads them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voxcore_adapters import lazy

if TYPE_CHECKING:
    from voxcore_adapters.livekit.settings import LiveKitSettings
    from voxcore_adapters.livekit.telephony import LiveKitTelephony
    from voxcore_adapters.livekit.tokens import (
        WebhookRejected,
        WebhookVerifier,
        sip_call_status,
        widget_token,
    )

_EXPORTS = {
    "LiveKitSettings": "voxcore_adapters.livekit.settings",
    "LiveKitTelephony": "voxcore_adapters.livekit.telephony",
    "WebhookRejected": "voxcore_adapters.livekit.tokens",
    "WebhookVerifier": "voxcore_adapters.livekit.tokens",
    "sip_call_status": "voxcore_adapters.livekit.tokens",
    "widget_token": "voxcore_adapters.livekit.tokens",
}
"""Where each name lives: its module is imported on first use (`voxcore_adapters.lazy`)."""

__getattr__ = lazy.exports(__name__, _EXPORTS)


__all__ = [
    "LiveKitSettings",
    "LiveKitTelephony",
    "WebhookRejected",
    "WebhookVerifier",
    "sip_call_status",
    "widget_token",
]
