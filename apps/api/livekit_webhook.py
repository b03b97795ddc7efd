"""`POST /v1/livekit/webhook`: LiveKit's webhooks, for inbound SIP calls.

LiveKit signs each webhook with the API secret: the `Authorization` header is a JWT (issuer: the
API key) whose `sha256` claim is the base64 SHA-256 of the exact body. A bad signature, another
key, an expired token or a body that does not match the hash is a 401 and changes nothing. A
verified event is acted on once per event id (see `inbound_calls`); a redelivery answers 200
with `duplicate`. When no fleet host took an inbound call, the answer is 503 with `Retry-After`
and the event is not remembered, so LiveKit's redelivery tries again. A call a fleet host refused
for itself (a 4xx but 429, which every host would repeat) is 200 `refused`: no redelivery.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import msgspec
from litestar import Request, Response, post
from litestar.exceptions import NotAuthorizedException
from litestar.openapi.datastructures import ResponseSpec

from apps.api.errors import UNAVAILABLE_RETRY_S, responses
from apps.api.inbound_calls import Outcome, handle_webhook
from apps.api.params import DepsArg, SettingsArg
from apps.api.raw_bodies import raw_body
from voxcore_adapters.http_errors import ErrorBody
from voxcore_adapters.livekit.tokens import WebhookRejected, WebhookVerifier

log = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 1024 * 1024
"""LiveKit's events are a few kilobytes; anything near this is not one."""


class WebhookHandled(msgspec.Struct, frozen=True, omit_defaults=True):
    """What the API did with the event."""

    outcome: Outcome
    """`ignored`, `duplicate`, `attached` or `refused`."""
    call_id: str | None = None
    """The inbound call's id, when it was one."""
    host: str | None = None
    """The fleet host that took it."""


@post(
    "/livekit/webhook",
    exclude_from_auth=True,
    request_max_body_size=MAX_WEBHOOK_BYTES,
    status_code=200,
    tags=["livekit"],
    summary="Receive a LiveKit webhook (signed by LiveKit, not with an API key)",
    security=[],
    operation_class=raw_body(
        "LiveKit's event as protobuf JSON; `Authorization` is LiveKit's JWT over its SHA-256.",
        ["application/webhook+json", "application/json"],
    ),
    responses={
        **responses(401, 413),
        503: ResponseSpec(
            ErrorBody, description="No fleet host took the inbound call; LiveKit retries."
        ),
    },
)
async def livekit_webhook(
    request: Request[Any, Any, Any], deps: DepsArg, settings: SettingsArg
) -> Response[WebhookHandled | ErrorBody]:
    body = await request.body()
    if settings.livekit_api_key is None or settings.livekit_api_secret is None:
        raise NotAuthorizedException("LiveKit webhooks are not configured on this API")
    verifier = WebhookVerifier(settings.livekit_api_key, settings.livekit_api_secret)
    try:
        event = verifier.verify(body, request.headers.get("authorization"))
    except WebhookRejected as rejected:
        log.warning("LiveKit webhook refused: %s", rejected.reason)
        raise NotAuthorizedException(f"webhook refused: {rejected.reason}") from None
    handled = await handle_webhook(
        deps,
        event,
        settings.fleet_media_carrier,
        timedelta(seconds=settings.webhook_dedupe_ttl_s),
    )
    if handled.outcome is Outcome.UNPLACED:
        return Response(
            ErrorBody("unavailable", "no fleet host took the inbound call, retry later"),
            status_code=503,
            headers={"Retry-After": str(UNAVAILABLE_RETRY_S)},
        )
    return Response(WebhookHandled(handled.outcome, handled.call_id, handled.host))
