"""Outbound calls through LiveKit SIP with the official `livekit-api` client: the work behind
`voxcore_adapters.livekit.telephony.LiveKitTelephony`, which imports this module (and with it
`livekit-api`, aiohttp and protobuf) at its first request.

A dial creates the call's room, then asks LiveKit to dial the number into it and wait until the
callee answers (`CreateSIPParticipant` with `wait_until_answered`). LiveKit reports a failed dial
as a Twirp error whose code follows the SIP status, with the status itself in the error's
metadata (`sip_status_code`, `sip_status`) when the carrier gave one:

| callee or carrier                  | Twirp code (HTTP)                 | result            |
|------------------------------------|-----------------------------------|-------------------|
| answered                           | 200                               | answered          |
| busy 486 / 600                     | resource_exhausted (429)          | busy              |
| unavailable 480                    | resource_exhausted (429)          | no_answer         |
| declined 603 / 403 / 607 / 608     | permission_denied (403)           | declined          |
| invalid 404 / 604, incomplete 484  | not_found / invalid_argument      | invalid_number    |
| ring timeout                       | canceled (408), no SIP status     | no_answer         |
| ring timeout, older servers        | deadline_exceeded (408), SIP 408  | no_answer         |
| carrier 5xx                        | failed_precondition (412)         | failed            |
| carrier 5xx "CPS limit exceeded"   | failed_precondition (412)         | TrunkThrottled    |
| LiveKit's own limit, no SIP status | resource_exhausted (429)          | TrunkThrottled    |

Without a SIP status, unauthenticated (401), permission_denied (403), not_found (404, e.g. an
unknown trunk) and invalid_argument mean our key, grants or configuration are wrong:
`TelephonyRefused`. So a permission_denied *with* a SIP status is a callee's decline, and one
without is our token.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import aiohttp
from google.protobuf.duration_pb2 import Duration
from livekit.api import (
    CreateRoomRequest,
    CreateSIPParticipantRequest,
    DeleteRoomRequest,
    ListRoomsRequest,
    LiveKitAPI,
    ServerError,
    ServerErrorCode,
    SIPTransferReason,
    SIPTransferStatus,
    TransferSIPParticipantRequest,
)

from voxcore_adapters.clock import UtcClock
from voxcore_adapters.livekit import outcomes
from voxcore_adapters.livekit.telephony import CALL_ID_ATTRIBUTE, LiveKitTelephony
from voxcore_adapters.livekit.tokens import widget_token
from voxcore_domain.model import Disposition
from voxcore_domain.ports import (
    Clock,
    DialRequest,
    DialResult,
    TelephonyError,
    TelephonyRefused,
    TransferResult,
    TrunkThrottled,
)

log = logging.getLogger(__name__)

_REFUSED = frozenset(
    {
        ServerErrorCode.UNAUTHENTICATED,
        ServerErrorCode.PERMISSION_DENIED,
        ServerErrorCode.NOT_FOUND,
        ServerErrorCode.INVALID_ARGUMENT,
        ServerErrorCode.MALFORMED,
        ServerErrorCode.FAILED_PRECONDITION,
        ServerErrorCode.BAD_ROUTE,
        ServerErrorCode.UNIMPLEMENTED,
    }
)
"""Codes that, without a SIP status, mean our request or credentials are wrong: they will not
get better by retrying."""
_RING_TIMEOUT = frozenset({ServerErrorCode.CANCELED, ServerErrorCode.DEADLINE_EXCEEDED})

_TRANSFER_REASONS = {
    SIPTransferReason.STR_RINGING_TIMEOUT: Disposition.NO_ANSWER,
    SIPTransferReason.STR_REJECTED: Disposition.DECLINED,
}


def _sip_status(error: ServerError) -> int | None:
    raw = error.metadata.get("sip_status_code")
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        # Unreadable: judge the error by its Twirp code alone, as if no status had come.
        log.warning("ignoring a non-numeric sip_status_code in LiveKit's answer: %r", raw)
        return None


def _duration(seconds: float) -> Duration:
    duration = Duration()
    duration.FromTimedelta(timedelta(seconds=seconds))
    return duration


class LiveKitClient:
    """The work behind `front`, the `LiveKitTelephony` that owns it (it creates it at its first
    request and closes it with `aclose()`): each of the front's methods is done by the one of
    the same name here, documented there."""

    def __init__(self, front: LiveKitTelephony) -> None:
        self._settings = front.settings
        self._clock: Clock = front.clock or UtcClock()
        self._session = front.session
        self._api: LiveKitAPI | None = None

    def _client(self) -> LiveKitAPI:
        # Built on first use: aiohttp wants a running event loop for its session.
        if self._api is None:
            self._api = LiveKitAPI(
                self._settings.url,
                self._settings.api_key,
                self._settings.api_secret,
                timeout=aiohttp.ClientTimeout(total=self._settings.request_timeout_s),
                session=self._session,
                # Region failover is for LiveKit Cloud; a self-hosted server has one address.
                failover=False,
            )
        return self._api

    async def aclose(self) -> None:
        api, self._api = self._api, None
        if api is not None:
            await api.aclose()

    # -- dialling -------------------------------------------------------------------------------

    async def place_call(self, request: DialRequest) -> DialResult:
        outcomes.check_dial(request)
        api = self._client()
        await self._create_room(api, request)
        sip_request = CreateSIPParticipantRequest(
            sip_trunk_id=request.trunk_id,
            sip_call_to=request.to,
            sip_number=request.caller_id,
            room_name=request.room,
            participant_identity=outcomes.sip_identity(request.call_id),
            participant_attributes={CALL_ID_ATTRIBUTE: request.call_id},
            ringing_timeout=_duration(request.ring_timeout_s),
            max_call_duration=_duration(self._settings.max_call_duration_s),
            krisp_enabled=self._settings.krisp_enabled,
            play_dialtone=False,
            wait_until_answered=True,
        )
        try:
            await api.sip.create_sip_participant(sip_request)
        except ServerError as error:
            return await self._dial_failed(api, request, error)
        except aiohttp.ClientConnectorError as exc:
            # Nothing reached LiveKit, so no phone rang.
            raise TelephonyError(f"cannot reach LiveKit: {exc.os_error}") from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            # The dial was sent but its answer was lost: the phone may be ringing still. End it,
            # and count a failed attempt rather than risk calling the person twice at once.
            log.warning("dial %s: lost LiveKit's answer (%r); ending it", request.call_id, exc)
            await self._end_room_after_failure(api, request)
            return DialResult(request.call_id, None, Disposition.FAILED)
        answered = self._clock.now()
        log.info("dial %s answered on trunk %s", request.call_id, request.trunk_id)
        return DialResult(request.call_id, answered)

    async def _create_room(self, api: LiveKitAPI, request: DialRequest) -> None:
        await self._room(api, request.room, request.call_id)

    async def create_room(self, room: str, call_id: str) -> None:
        outcomes.check_text("room", room)
        outcomes.check_text("call_id", call_id, 128)
        await self._room(self._client(), room, call_id)

    async def _room(self, api: LiveKitAPI, room: str, call_id: str) -> None:
        try:
            await api.room.create_room(
                CreateRoomRequest(
                    name=room,
                    empty_timeout=int(self._settings.room_empty_timeout_s),
                    departure_timeout=int(self._settings.room_departure_timeout_s),
                    metadata=json.dumps({"call_id": call_id}),
                )
            )
        except ServerError as error:
            raise self._not_the_callee(error, f"create room for call {call_id}") from error
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TelephonyError(f"cannot reach LiveKit: {exc!r}") from exc

    async def _dial_failed(
        self, api: LiveKitAPI, request: DialRequest, error: ServerError
    ) -> DialResult:
        sip = _sip_status(error)
        if sip is not None:
            outcome = outcomes.dial_refused(
                request,
                sip,
                error.metadata.get("sip_status", ""),
                retry_after_s=self._settings.throttle_backoff_s,
                code=error.code,
            )
            if isinstance(outcome, TelephonyError):
                raise outcome from error
            result = outcome
        elif error.code in _RING_TIMEOUT:
            result = DialResult(request.call_id, None, Disposition.NO_ANSWER)
        elif error.code == ServerErrorCode.RESOURCE_EXHAUSTED:
            raise TrunkThrottled(
                request.trunk_id,
                f"LiveKit refused the dial: {error.message}",
                retry_after_s=self._settings.throttle_backoff_s,
                code=error.code,
            ) from error
        elif error.code in _REFUSED:
            raise self._not_the_callee(error, f"dial {request.call_id}") from error
        else:
            # A server-side fault mid-dial: make sure no phone is left ringing.
            await self._end_room_after_failure(api, request)
            raise self._not_the_callee(error, f"dial {request.call_id}") from error
        log.info(
            "dial %s on trunk %s: %s (SIP %s, %s)",
            request.call_id,
            request.trunk_id,
            result.disposition,
            sip,
            error.code,
        )
        return result

    @staticmethod
    def _not_the_callee(error: ServerError, doing: str) -> TelephonyError:
        message = f"LiveKit refused to {doing}: {error.code} {error.message}".rstrip()
        if error.code in _REFUSED or error.status in (401, 403):
            return TelephonyRefused(message, code=error.code)
        return TelephonyError(message, code=error.code)

    async def _end_room_after_failure(self, api: LiveKitAPI, request: DialRequest) -> None:
        """Delete the call's room after an unclear failure. The dial's own outcome is what the
        caller needs, so a failure here is logged, not raised; LiveKit's empty-room timeout
        removes the room later anyway."""
        try:
            await api.room.delete_room(DeleteRoomRequest(room=request.room))
        except ServerError as error:
            if error.code != ServerErrorCode.NOT_FOUND:
                log.warning("dial %s: could not delete room: %s", request.call_id, error)
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("dial %s: could not delete room: %r", request.call_id, exc)

    async def open_rooms(self, prefix: str) -> list[str]:
        try:
            response = await self._client().room.list_rooms(ListRoomsRequest())
        except ServerError as error:
            raise self._not_the_callee(error, "list rooms") from error
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TelephonyError(f"cannot reach LiveKit to list rooms: {exc!r}") from exc
        return sorted(room.name for room in response.rooms if room.name.startswith(prefix))

    # -- in-call controls -------------------------------------------------------------------------

    async def hang_up(self, call_id: str, room: str) -> None:
        outcomes.check_text("call_id", call_id, 128)
        outcomes.check_text("room", room)
        try:
            await self._client().room.delete_room(DeleteRoomRequest(room=room))
        except ServerError as error:
            if error.code == ServerErrorCode.NOT_FOUND:
                log.info("hang up %s: room already gone", call_id)
                return
            raise self._not_the_callee(error, f"hang up call {call_id}") from error
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TelephonyError(f"cannot reach LiveKit to hang up {call_id}: {exc!r}") from exc
        log.info("hung up %s", call_id)

    async def transfer(
        self, call_id: str, room: str, to: str, ring_timeout_s: float = 30.0
    ) -> TransferResult:
        outcomes.check_text("call_id", call_id, 128)
        outcomes.check_text("room", room)
        target = outcomes.transfer_target(to)
        outcomes.check_ring_timeout("ring_timeout_s", ring_timeout_s)
        request = TransferSIPParticipantRequest(
            participant_identity=outcomes.sip_identity(call_id),
            room_name=room,
            transfer_to=target,
            play_dialtone=False,
            ringing_timeout=_duration(ring_timeout_s),
        )
        try:
            response = await self._client().sip.transfer_sip_participant(request)
        except ServerError as error:
            return self._transfer_failed(call_id, error)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TelephonyError(f"cannot reach LiveKit to transfer {call_id}: {exc!r}") from exc
        sip = response.sip_status.code if response.HasField("sip_status") else None
        # ONGOING (0) is also what servers before transfer results answered on success.
        if response.status != SIPTransferStatus.STS_TRANSFER_FAILED:
            log.info("transferred %s", call_id)
            return TransferResult(sip_status=sip or None)
        failure = _TRANSFER_REASONS.get(response.reason, Disposition.FAILED)
        if sip and sip >= 300:
            failure = outcomes.disposition_for_sip(sip)
        log.info("transfer of %s failed: %s (SIP %s)", call_id, failure.value, sip)
        return TransferResult(failure=failure, sip_status=sip or None)

    def _transfer_failed(self, call_id: str, error: ServerError) -> TransferResult:
        sip = _sip_status(error)
        if sip is not None:
            failure = outcomes.disposition_for_sip(sip)
        elif error.code in _RING_TIMEOUT:
            failure = Disposition.NO_ANSWER
        elif error.code == ServerErrorCode.NOT_FOUND:
            raise TelephonyError(
                f"call {call_id} is no longer in its room: {error.message}", code=error.code
            ) from error
        else:
            raise self._not_the_callee(error, f"transfer call {call_id}") from error
        log.info("transfer of %s failed: %s (SIP %s)", call_id, failure.value, sip)
        return TransferResult(failure=failure, sip_status=sip)

    def widget_token(
        self, room: str, identity: str, *, name: str = "", ttl: timedelta = timedelta(minutes=15)
    ) -> str:
        return widget_token(
            self._settings.api_key, self._settings.api_secret, room, identity, name=name, ttl=ttl
        )
