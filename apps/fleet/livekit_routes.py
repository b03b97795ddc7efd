"""`POST /livekit/dialout` and `POST /livekit/widget`: calls whose media is a LiveKit room.

Both claim the slot at once (429 with `Retry-After` when busy or draining), create the call's
room (502 when LiveKit refuses or is down, 503 when this worker has no LiveKit key) and answer
202; the call is set up and run in the background (`apps.fleet.rooms`).

Both are stand-alone calls (`CallSetup.origin`): no campaign, contact or lease. Their reports
say so, and the API records each as a call of its tenant from the first report it gets.
"""

from __future__ import annotations

import msgspec
from litestar import post
from litestar.params import JSONBody

from apps.fleet.auth import INTERNAL
from apps.fleet.calls import checked
from apps.fleet.errors import RESPONSES
from apps.fleet.params import RoomsArg, SettingsArg
from apps.fleet.rooms import NO_CAMPAIGN, DialOut, new_call_id
from voxcore_domain.model import CallOrigin
from voxcore_domain.voice.call import CallSetup


class DialoutBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A phone call for the worker to place through LiveKit and then talk on."""

    phone: str
    """The callee, E.164."""
    trunk_id: str
    """The LiveKit outbound SIP trunk (`ST_…`)."""
    agent_id: str
    tenant_id: str
    campaign_id: str | None = None
    """Files the call's recording (default `adhoc`); the API records the call as a stand-alone
    `dialout` of the tenant either way, in no campaign."""
    call_id: str | None = None
    """None: the worker names the call."""
    caller_id: str | None = None
    """The number shown to the callee, E.164; None: the trunk's own."""
    variables: dict[str, str] = msgspec.field(default_factory=dict)


class WidgetBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A browser call with the agent."""

    agent_id: str
    tenant_id: str
    campaign_id: str | None = None
    """Files the call's recording (default `adhoc`); the API records the call as a stand-alone
    `widget` call of the tenant either way, in no campaign."""
    call_id: str | None = None
    variables: dict[str, str] = msgspec.field(default_factory=dict)


class Dialling(msgspec.Struct, frozen=True):
    call_id: str
    room: str
    host: str
    worker: str
    state: str
    """The slot's state now: `busy`."""
    ring_timeout_s: float


class WidgetJoin(msgspec.Struct, frozen=True):
    call_id: str
    room: str
    url: str
    """The LiveKit server the browser connects to."""
    token: str
    """The browser's token: it may join this room, and nothing more."""
    identity: str
    join_wait_s: float
    """How long the agent waits for the browser to join before the call fails."""


def _call(origin: CallOrigin, body: DialoutBody | WidgetBody) -> CallSetup:
    return checked(
        CallSetup(
            call_id=new_call_id() if body.call_id is None else body.call_id,
            tenant_id=body.tenant_id,
            campaign_id=NO_CAMPAIGN if body.campaign_id is None else body.campaign_id,
            agent_id=body.agent_id,
            variables=body.variables,
            origin=origin,
        )
    )


@post(
    "/livekit/dialout",
    status_code=202,
    responses=RESPONSES,
    summary="Place a call and talk",
    opt={INTERNAL: True},
)
async def livekit_dialout(
    data: JSONBody[DialoutBody], rooms: RoomsArg, settings: SettingsArg
) -> Dialling:
    call = _call(CallOrigin.DIALOUT, data)
    room = await rooms.dial_out(DialOut(call, data.phone, data.trunk_id, data.caller_id or ""))
    return Dialling(
        call_id=call.call_id,
        room=room,
        host=settings.host,
        worker=settings.worker,
        state="busy",
        ring_timeout_s=settings.livekit_ring_timeout_s,
    )


@post(
    "/livekit/widget",
    status_code=202,
    responses=RESPONSES,
    summary="Start a browser call",
    opt={INTERNAL: True},
)
async def livekit_widget(
    data: JSONBody[WidgetBody], rooms: RoomsArg, settings: SettingsArg
) -> WidgetJoin:
    call = _call(CallOrigin.WIDGET, data)
    session = await rooms.widget(call)
    return WidgetJoin(
        call_id=session.call_id,
        room=session.room,
        url=session.url,
        token=session.token,
        identity=session.identity,
        join_wait_s=settings.livekit_join_wait_s,
    )
