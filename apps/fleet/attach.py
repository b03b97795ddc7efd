"""`POST /attach`: the dialler (or the API, for an inbound call) hands an answered call to this
worker. 202 at once, with the slot claimed; the call runs in the background once its media
stream arrives."""

from __future__ import annotations

import msgspec
from litestar import post
from litestar.params import JSONBody

from apps.fleet.auth import INTERNAL
from apps.fleet.calls import checked
from apps.fleet.errors import RESPONSES
from apps.fleet.params import RoomsArg, RunnerArg, SettingsArg
from voxcore_adapters.carriers import CODECS
from voxcore_domain.errors import ValidationError
from voxcore_domain.voice.call import CallSetup


class StreamMedia(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="kind", tag="stream"
):
    """`"kind": "stream"`: the call's audio comes as a carrier media stream to
    `/media/<carrier>`, whose custom parameters carry `call_id`."""

    carrier: str
    """`twilio`, `exotel`, `plivo` or `telnyx`."""


class LiveKitMedia(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="kind", tag="livekit"
):
    """`"kind": "livekit"`: the call is in a LiveKit room on the worker's LiveKit server; the
    agent joins it."""

    room: str
    token: str | None = None
    """A token to join `room` with; None: the worker makes its own with its LiveKit key."""
    caller_identity: str | None = None
    """The caller's participant; None: the phone leg LiveKit dialled for the call
    (`sip-<call_id>`)."""


class AttachBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An answered call and how to reach its audio."""

    call_id: str
    tenant_id: str
    campaign_id: str
    agent_id: str
    lease_token: str
    """The dialler's lease on the contact; fences the outcome report."""
    media: StreamMedia | LiveKitMedia
    variables: dict[str, str] = msgspec.field(default_factory=dict)
    """The contact's values for the agent's script (name, amount due, …)."""


class Attached(msgspec.Struct, frozen=True):
    call_id: str
    host: str
    worker: str
    state: str
    """The slot's state now: `busy`."""
    media_path: str
    """Where the call's media stream must connect, on this worker."""
    media_wait_s: float
    """How long the worker waits for it before the call fails."""


class AttachedRoom(msgspec.Struct, frozen=True):
    call_id: str
    host: str
    worker: str
    state: str
    """The slot's state now: `busy`."""
    room: str
    """The LiveKit room the agent is joining."""
    join_wait_s: float
    """How long the agent waits for the caller in the room before the call fails."""


def _call(body: AttachBody) -> CallSetup:
    return checked(
        CallSetup(
            body.call_id,
            body.tenant_id,
            body.campaign_id,
            body.agent_id,
            body.lease_token,
            body.variables,
        )
    )


@post(
    "/attach",
    status_code=202,
    responses=RESPONSES,
    summary="Hand an answered call over",
    opt={INTERNAL: True},
)
async def attach(
    data: JSONBody[AttachBody], runner: RunnerArg, rooms: RoomsArg, settings: SettingsArg
) -> Attached | AttachedRoom:
    if isinstance(data.media, LiveKitMedia):
        call = _call(data)
        media = data.media
        room = rooms.attach(call, media.room, media.token, media.caller_identity)
        return AttachedRoom(
            call_id=call.call_id,
            host=settings.host,
            worker=settings.worker,
            state="busy",
            room=room,
            join_wait_s=settings.livekit_join_wait_s,
        )
    if data.media.carrier not in CODECS:
        raise ValidationError(
            "media.carrier", f"{data.media.carrier!r} is not one of {', '.join(sorted(CODECS))}"
        )
    call = _call(data)
    runner.attach(call, data.media.carrier)
    return Attached(
        call_id=call.call_id,
        host=settings.host,
        worker=settings.worker,
        state="busy",
        media_path=f"/media/{data.media.carrier}",
        media_wait_s=settings.media_wait_s,
    )
