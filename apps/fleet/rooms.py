"""Calls whose media is a LiveKit room: a phone call this worker dials, a browser's widget call,
and a room `/attach` hands over.

Each claims the slot first (429 when busy); the room is created before the answer, so a worker
that LiveKit refuses says so at once (502) with the slot freed. The rest runs in the background:
dial and wait for the answer, join the room as the agent, wait for the caller, then the call
runs like any other (`CallRunner.run`). A setup that fails frees the slot and ends the room, so
nobody is left listening to silence.

The API hears of every room call through the same report outbox as a carrier stream's call
(spooled, retried): `attached` when the slot is claimed, `ended` with its disposition, whether
the call talked or never connected (busy, no answer, a room that could not be joined).

The room's media runs in a room process of the call's own (`join_room`,
`voxcore_adapters.livekit.room_child`): the worker never loads the RTC SDK. A real LiveKit
server cannot run on the test machine: the tests run everything up to the media against the
Twirp double (rooms, dials, transfers, tokens) and join rooms through a stand-in for
`join_room`, or through the real room process with a room double in place of WebRTC.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from apps.fleet.calls import CallRunner
from apps.fleet.errors import LiveKitNotConfigured
from apps.fleet.settings import Settings
from voxcore_adapters.livekit.joining import RoomJoiner, RoomJoinFailed
from voxcore_adapters.livekit.outcomes import agent_identity, check_text, sip_identity
from voxcore_adapters.livekit.settings import LiveKitSettings
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import Disposition
from voxcore_domain.ports import DialRequest, TelephonyError, TransferResult
from voxcore_domain.validators import E164
from voxcore_domain.voice.call import CallSetup, never_connected

if TYPE_CHECKING:
    from voxcore_adapters.livekit.telephony import LiveKitTelephony

log = logging.getLogger(__name__)

NO_CAMPAIGN = "adhoc"
"""The campaign id of a call placed outside any campaign (a single dial-out, a widget call):
its recording is filed under it."""


def new_call_id() -> str:
    return f"lk-{uuid.uuid4().hex}"


def room_name(call_id: str) -> str:
    return f"call-{call_id}"


def widget_identity(call_id: str) -> str:
    return f"web-{call_id}"


def check_number(field: str, number: str, *, optional: bool = False) -> str:
    if optional and number == "":
        return number
    if not E164.match(number):
        raise ValidationError(field, f"{number!r} is not an E.164 number like +14155550123")
    return number


def check_room_token(token: str, room: str, now: float) -> str:
    """A token handed over with a room must let its bearer join that room and not be expired.
    Its signature is LiveKit's to check: the worker may not hold the key that signed it."""
    import jwt  # only room calls need it: a worker without LiveKit never loads it

    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise ValidationError("media.token", "is not a JWT") from None
    video = claims.get("video") or {}
    if not isinstance(video, dict) or video.get("roomJoin") is not True:
        raise ValidationError("media.token", "does not grant roomJoin")
    if video.get("room") != room:
        raise ValidationError("media.token", f"is for room {video.get('room')!r}, not {room!r}")
    expires = claims.get("exp")
    if not isinstance(expires, int | float) or expires <= now:
        raise ValidationError("media.token", "has expired")
    return token


@attrs.frozen
class DialOut:
    """A phone call the worker places through a LiveKit outbound trunk."""

    call: CallSetup
    to: str
    """E.164."""
    trunk_id: str
    """The LiveKit outbound SIP trunk (`ST_…`)."""
    caller_id: str = ""
    """E.164, or empty for the trunk's own number."""


@attrs.frozen
class WidgetSession:
    """What the browser needs to join its call's room."""

    call_id: str
    room: str
    identity: str
    token: str
    url: str


class LiveKitCalls:
    """Sets up room calls on the worker's slot and runs them."""

    def __init__(
        self,
        runner: CallRunner,
        telephony: LiveKitTelephony | None,
        join: RoomJoiner,
        settings: Settings,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._runner = runner
        self._telephony = telephony
        self._join = join
        self._settings = settings
        self._wall_clock = wall_clock

    def _server(self) -> tuple[LiveKitTelephony, LiveKitSettings]:
        livekit = self._settings.livekit
        if self._telephony is None or livekit is None:
            raise LiveKitNotConfigured(
                "this worker has no LiveKit server and key (VOX_FLEET_LIVEKIT_URL, "
                "VOX_FLEET_LIVEKIT_API_KEY, VOX_FLEET_LIVEKIT_API_SECRET)"
            )
        return self._telephony, livekit

    # -- the three ways in ------------------------------------------------------------------------

    async def dial_out(self, dial: DialOut) -> str:
        """Claim the slot, create the room, and dial in the background; the room's name."""
        telephony, _ = self._server()
        call = dial.call
        room = room_name(call.call_id)
        request = DialRequest(
            call_id=call.call_id,
            trunk_id=check_text("trunk_id", dial.trunk_id, 128),
            to=check_number("phone", dial.to),
            caller_id=check_number("caller_id", dial.caller_id, optional=True),
            ring_timeout_s=self._settings.livekit_ring_timeout_s,
            room=room,
        )
        self._runner.claim(call, "livekit_dialout")
        await self._create_room(telephony, call, room)
        self._runner.spawn(self._dial_and_run(telephony, call, request))
        return room

    async def widget(self, call: CallSetup) -> WidgetSession:
        """Claim the slot, create the room and a browser token; the agent joins in the
        background and talks once the browser is in."""
        telephony, livekit = self._server()
        room = room_name(call.call_id)
        identity = widget_identity(call.call_id)
        self._runner.claim(call, "livekit_widget")
        await self._create_room(telephony, call, room)
        token = telephony.widget_token(room, identity)
        self._runner.spawn(
            self._join_and_run(
                call, room, self._token(livekit, room, call), identity, answered=False
            )
        )
        return WidgetSession(call.call_id, room, identity, token, livekit.url)

    def attach(self, call: CallSetup, room: str, token: str | None, caller: str | None) -> str:
        """Claim the slot for a call already in `room` and join it in the background; the
        caller is `caller`, by default the phone leg LiveKit dialled for `call`."""
        url = self._settings.livekit_url
        if url is None:
            raise LiveKitNotConfigured("this worker has no LiveKit server (VOX_FLEET_LIVEKIT_URL)")
        check_text("media.room", room)
        if caller is not None:
            check_text("media.caller_identity", caller)
        if token is None:
            livekit = self._settings.livekit
            if livekit is None:
                raise ValidationError(
                    "media.token", "is required: this worker has no LiveKit key to make one"
                )
            token = self._token(livekit, room, call)
        else:
            check_room_token(token, room, self._wall_clock())
        self._runner.claim(call, "attach")
        self._runner.spawn(
            self._join_and_run(
                call, room, token, sip_identity(call.call_id) if caller is None else caller
            )
        )
        return room

    # -- setting a call up ------------------------------------------------------------------------

    async def _create_room(self, telephony: LiveKitTelephony, call: CallSetup, room: str) -> None:
        try:
            await telephony.create_room(room, call.call_id)
        except BaseException as error:
            self._runner.abandon(call, Disposition.FAILED, f"could not create its room: {error}")
            raise

    async def _dial_and_run(
        self, telephony: LiveKitTelephony, call: CallSetup, request: DialRequest
    ) -> None:
        try:
            result = await telephony.place_call(request)
        except Exception as error:
            await self._setup_failed(call, request.room, error)
            return
        except BaseException as error:
            await self._setup_failed(call, request.room, error)
            raise
        if result.disposition is not None:
            # LiveKit removes the room nobody joined after its empty timeout.
            status = f" (SIP {result.sip_status})" if result.sip_status else ""
            self._runner.abandon(call, result.disposition, f"the dial was not answered{status}")
            return
        token = self._token(self._server()[1], request.room, call)
        await self._join_and_run(call, request.room, token, sip_identity(call.call_id))

    async def _join_and_run(
        self, call: CallSetup, room: str, token: str, caller: str, *, answered: bool = True
    ) -> None:
        """Join `room` as the agent and run the call. `answered`: someone already picked up
        and is waiting for the agent (a phone leg), unlike a widget caller who joins later."""
        url = self._settings.livekit_url
        if url is None:
            raise LiveKitNotConfigured("this worker has no LiveKit server (VOX_FLEET_LIVEKIT_URL)")
        telephony = self._telephony

        async def end_call() -> None:
            await self._end_room(call, room)

        async def transfer(to: str) -> TransferResult:
            if telephony is None:
                raise LiveKitNotConfigured("transfers need the worker's LiveKit key")
            return await telephony.transfer(call.call_id, room, to)

        phone = caller == sip_identity(call.call_id)
        try:
            leg = await self._join(
                url,
                token,
                caller=caller,
                caller_wait_s=self._settings.livekit_join_wait_s,
                end_call=end_call if telephony is not None else None,
                transfer=transfer if telephony is not None and phone else None,
            )
        except Exception as error:
            await self._setup_failed(call, room, error, answered=answered)
            return
        except BaseException as error:
            await self._setup_failed(call, room, error, answered=answered)
            raise
        try:
            await self._runner.run(call, leg)
        finally:
            await leg.close()

    async def _setup_failed(
        self, call: CallSetup, room: str, error: BaseException, *, answered: bool = False
    ) -> None:
        """Free the slot of a call whose setup broke and end its room. The failure is the
        call's outcome (`never_connected`: abandoned if someone `answered`), counted and
        logged; one nobody expected is logged with its traceback."""
        if isinstance(error, RoomJoinFailed | TelephonyError):
            reason = str(error)
        elif not isinstance(error, Exception):
            reason = "the worker stopped during its setup"
        else:
            log.error("call %s: its LiveKit setup failed", call.call_id, exc_info=error)
            reason = f"its setup failed: {type(error).__name__}"
        # The room first: once the slot shows idle, nothing of the call is left behind.
        await self._end_room(call, room)
        self._runner.abandon(call, never_connected(answered), reason)

    async def _end_room(self, call: CallSetup, room: str) -> None:
        if self._telephony is None:
            return
        try:
            await self._telephony.hang_up(call.call_id, room)
        except TelephonyError as error:
            # LiveKit's empty-room timeout removes it later; the call's outcome is already known.
            log.warning("call %s: could not end room %s: %s", call.call_id, room, error)

    def _token(self, livekit: LiveKitSettings, room: str, call: CallSetup) -> str:
        from voxcore_adapters.livekit.tokens import agent_token

        return agent_token(livekit.api_key, livekit.api_secret, room, agent_identity(call.call_id))
