"""A local stand-in for a LiveKit server's Twirp API that the real `livekit-api` client talks to.

It serves `POST /twirp/livekit.<Service>/<Method>` on a free loopback port from a background
thread, decodes `application/protobuf` (or JSON) bodies with `livekit-protocol`, and checks the
`Authorization: Bearer <JWT>` as LiveKit does: HS256 with the secret of the key named in `iss`,
not expired, and the method's grants (`roomCreate` for CreateRoom/DeleteRoom, `roomList` for
ListRooms, `roomAdmin` for the room's own participants, `sip.call` for CreateSIPParticipant, and
`sip.call` plus `roomAdmin` for TransferSIPParticipant).

Errors have LiveKit's shape: JSON `{"code", "msg", "meta"}` with the HTTP status of the Twirp
code. A failed dial carries the SIP status in `meta` (`sip_status_code`, `sip_status`,
`error_details`) and a Twirp code derived from it as LiveKit's protocol library derives it
(`voxcore_adapters.livekit.outcomes.twirp_code_for_sip`, which the fakes use too);
a ring timeout is `canceled` without SIP status, or on request the older `deadline_exceeded`
with SIP 408. A bad or missing token is 401 `unauthenticated` and a missing grant 403
`permission_denied`, as in LiveKit's own SDK test server (`livekit/livekit` `cmd/test-server`);
the production server answers a missing grant with 401 `unauthenticated` "permissions denied"
instead, which `missing_grant_code="unauthenticated"` reproduces.

Each dialled number behaves as scripted with a `Callee` (answer after d seconds, busy, no
answer, decline, unavailable, carrier error, CPS limit, invalid number) or a raw Twirp error.
Every request is recorded (`calls`) for tests to assert on. It models what the adapters use,
not the whole API: other methods answer `bad_route`.

It has no WebRTC: a room join (the RTC SDK's signalling WebSocket, `GET /rtc…`) is recorded
(`joins`, with the join token's verified claims) and answered 404, so an agent's join fails as
against a server without signalling, after showing which room it asked for, as whom, and with
whose key.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Literal

import attrs
import jwt
from aiohttp import web
from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.message import DecodeError, Message
from livekit.protocol.models import ParticipantInfo, Room
from livekit.protocol.room import (
    CreateRoomRequest,
    DeleteRoomRequest,
    DeleteRoomResponse,
    ListParticipantsRequest,
    ListParticipantsResponse,
    ListRoomsRequest,
    ListRoomsResponse,
)
from livekit.protocol.sip import (
    CreateSIPParticipantRequest,
    SIPParticipantInfo,
    SIPStatus,
    SIPStatusCode,
    SIPTransferReason,
    SIPTransferStatus,
    TransferSIPParticipantRequest,
    TransferSIPParticipantResponse,
)
from livekit.protocol.webhook import WebhookEvent

from voxcore_adapters.fakes.media_fakes import Callee
from voxcore_adapters.livekit.outcomes import twirp_code_for_sip
from voxcore_adapters.testing.lifecycle import StartStop
from voxcore_adapters.testing.loop_thread import LoopThread

TWIRP_STATUS: Mapping[str, int] = {
    "canceled": 408,
    "unknown": 500,
    "invalid_argument": 400,
    "malformed": 400,
    "deadline_exceeded": 408,
    "not_found": 404,
    "bad_route": 404,
    "already_exists": 409,
    "permission_denied": 403,
    "unauthenticated": 401,
    "resource_exhausted": 429,
    "failed_precondition": 412,
    "aborted": 409,
    "out_of_range": 400,
    "unimplemented": 501,
    "internal": 500,
    "unavailable": 503,
    "dataloss": 500,
}
"""HTTP status of each Twirp error code (the Twirp spec)."""

_GRPC_NUMBER: Mapping[str, int] = {
    "canceled": 1,
    "unknown": 2,
    "invalid_argument": 3,
    "deadline_exceeded": 4,
    "not_found": 5,
    "already_exists": 6,
    "permission_denied": 7,
    "resource_exhausted": 8,
    "failed_precondition": 9,
    "aborted": 10,
    "out_of_range": 11,
    "unimplemented": 12,
    "internal": 13,
    "unavailable": 14,
    "dataloss": 15,
    "unauthenticated": 16,
}


def _rpc_status_type() -> type[Message]:
    # google.rpc.Status, which LiveKit base64-encodes into `error_details`; built here because
    # googleapis-common-protos is not a dependency, in a private pool so it never clashes.
    proto = descriptor_pb2.FileDescriptorProto(
        name="vox_livekit_double/status.proto",
        package="google.rpc",
        syntax="proto3",
        dependency=["google/protobuf/any.proto"],
    )
    status = proto.message_type.add(name="Status")
    field = descriptor_pb2.FieldDescriptorProto
    status.field.add(name="code", number=1, type=field.TYPE_INT32, label=field.LABEL_OPTIONAL)
    status.field.add(name="message", number=2, type=field.TYPE_STRING, label=field.LABEL_OPTIONAL)
    status.field.add(
        name="details",
        number=3,
        type=field.TYPE_MESSAGE,
        label=field.LABEL_REPEATED,
        type_name=".google.protobuf.Any",
    )
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(any_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("google.rpc.Status"))


RpcStatus = _rpc_status_type()
_SIP_STATUS_TYPE_URL = "type.googleapis.com/" + SIPStatus.DESCRIPTOR.full_name


def decode_error_details(value: str) -> tuple[int, str, list[SIPStatus]]:
    """(gRPC code, message, SIP statuses) of an `error_details` meta value."""
    status: Any = RpcStatus.FromString(base64.b64decode(value))
    found = [
        SIPStatus.FromString(detail.value)
        for detail in status.details
        if detail.type_url == _SIP_STATUS_TYPE_URL
    ]
    return int(status.code), str(status.message), found


class _TwirpFailure(Exception):
    def __init__(self, code: str, message: str, meta: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.meta = dict(meta or {})


def _sip_failure(
    sip_status: int, reason: str, extra: Mapping[str, str] | None = None
) -> _TwirpFailure:
    code = twirp_code_for_sip(sip_status)
    try:
        name = SIPStatusCode.Name(sip_status)
    except ValueError:
        name = f"SIP_STATUS_{sip_status}"
    message = f"sip status: {sip_status}: {reason or name}"
    status: Any = RpcStatus(code=_GRPC_NUMBER.get(code, 2), message=message)
    # Packed by hand: the private pool's Any is not google.protobuf's Any class.
    detail = status.details.add()
    detail.type_url = _SIP_STATUS_TYPE_URL
    detail.value = SIPStatus(code=sip_status, status=reason).SerializeToString()  # type: ignore[arg-type]
    meta = {
        "sip_status_code": str(sip_status),
        "sip_status": reason or name,
        "error_details": base64.b64encode(status.SerializeToString()).decode(),
        **(extra or {}),
    }
    return _TwirpFailure(code, message, meta)


@attrs.frozen
class ScriptedError:
    """A raw Twirp error for a number, for shapes no `Callee` makes (e.g. LiveKit's own quota
    limit: resource_exhausted without SIP status)."""

    code: str
    message: str
    meta: Mapping[str, str] = attrs.field(factory=dict)
    after_s: float = 0.0


NoAnswerShape = Literal["canceled", "deadline_exceeded"]


@attrs.frozen
class _Script:
    callee: Callee | None
    error: ScriptedError | None
    no_answer: NoAnswerShape


@attrs.frozen
class ReceivedCall:
    """One request the double answered."""

    method: str
    """`Service/Method`, e.g. `SIP/CreateSIPParticipant`."""
    request: Message | None
    claims: Mapping[str, Any] | None
    """The verified JWT claims; None when the token was missing or invalid."""
    status: int
    error_code: str | None = None


@attrs.frozen
class JoinAttempt:
    """One room join the double turned away (it has no WebRTC signalling)."""

    path: str
    claims: Mapping[str, Any] | None
    """The join token's verified claims; None when it was missing or invalid."""
    refusal: str | None = None
    """Why the token was not accepted, when it was not."""


@attrs.frozen
class _Grants:
    room_create: bool = False
    room_list: bool = False
    room_admin: bool = False
    sip_call: bool = False


Handler = Callable[[Any], Awaitable[Message]]


@attrs.frozen
class _Method:
    request_type: type[Message]
    grants: _Grants
    handler: Handler


class LiveKitDouble(StartStop["LiveKitDouble"]):
    """The Twirp double; `with LiveKitDouble() as double:` serves it on `double.url`.

    `trunks` are the outbound SIP trunk ids that exist; any other is `not_found`.
    """

    def __init__(
        self,
        api_key: str = "APIvoxdouble",
        api_secret: str | None = None,
        *,
        trunks: Iterable[str] = ("ST_vox",),
        missing_grant_code: Literal["permission_denied", "unauthenticated"] = "permission_denied",
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret or secrets.token_urlsafe(32)
        self._keys = {api_key: self.api_secret}
        self._trunks = set(trunks)
        self._missing_grant_code = missing_grant_code
        self._lock = threading.Lock()
        self._scripts: dict[str, _Script] = {}
        self._rooms: dict[str, Room] = {}
        self._participants: dict[str, dict[str, ParticipantInfo]] = {}
        self._calls: list[ReceivedCall] = []
        self._joins: list[JoinAttempt] = []
        self._serial = 0
        self._server = LoopThread("livekit-double")
        self._methods: dict[str, _Method] = {
            "livekit.RoomService/CreateRoom": _Method(
                CreateRoomRequest, _Grants(room_create=True), self._create_room
            ),
            "livekit.RoomService/DeleteRoom": _Method(
                DeleteRoomRequest, _Grants(room_create=True), self._delete_room
            ),
            "livekit.RoomService/ListRooms": _Method(
                ListRoomsRequest, _Grants(room_list=True), self._list_rooms
            ),
            "livekit.RoomService/ListParticipants": _Method(
                ListParticipantsRequest, _Grants(room_admin=True), self._list_participants
            ),
            "livekit.SIP/CreateSIPParticipant": _Method(
                CreateSIPParticipantRequest, _Grants(sip_call=True), self._create_sip_participant
            ),
            "livekit.SIP/TransferSIPParticipant": _Method(
                TransferSIPParticipantRequest,
                _Grants(sip_call=True, room_admin=True),
                self._transfer_sip_participant,
            ),
        }

    # -- scripting and inspection (from the test's thread) ------------------------------------

    @property
    def port(self) -> int:
        """The port it listens on while started; 0 otherwise."""
        return self._server.port

    @property
    def url(self) -> str:
        return self._server.url("http")

    def script(self, number: str, callee: Callee, *, no_answer: NoAnswerShape = "canceled") -> None:
        """How `number` behaves when dialled or transferred to; unscripted numbers answer."""
        with self._lock:
            self._scripts[number] = _Script(callee, None, no_answer)

    def script_error(self, number: str, error: ScriptedError) -> None:
        with self._lock:
            self._scripts[number] = _Script(None, error, "canceled")

    def add_trunk(self, trunk_id: str) -> None:
        with self._lock:
            self._trunks.add(trunk_id)

    def add_key(self, api_key: str, api_secret: str) -> None:
        """Accept tokens signed by another key too, as a server with several keys does."""
        with self._lock:
            self._keys[api_key] = api_secret

    @property
    def calls(self) -> list[ReceivedCall]:
        with self._lock:
            return list(self._calls)

    @property
    def joins(self) -> list[JoinAttempt]:
        """Every room join the RTC SDK attempted (each of its retries is one)."""
        with self._lock:
            return list(self._joins)

    def calls_to(self, method: str) -> list[ReceivedCall]:
        """The requests to `Service/Method`, e.g. `SIP/CreateSIPParticipant`."""
        return [call for call in self.calls if call.method == method]

    @property
    def rooms(self) -> dict[str, Room]:
        with self._lock:
            return dict(self._rooms)

    def participants(self, room: str) -> dict[str, ParticipantInfo]:
        with self._lock:
            return dict(self._participants.get(room, {}))

    def sign_webhook(
        self,
        event: WebhookEvent,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        valid_for_s: int = 300,
    ) -> tuple[str, str]:
        """(body, Authorization header) as LiveKit posts a webhook: protojson body, and a JWT
        whose `sha256` claim is the base64 SHA-256 of the body."""
        body = json_format.MessageToJson(event)
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        now = int(time.time())
        claims = {
            "iss": api_key or self.api_key,
            "sha256": digest,
            "nbf": now,
            "exp": now + valid_for_s,
        }
        return body, jwt.encode(claims, api_secret or self.api_secret, algorithm="HS256")

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> LiveKitDouble:
        app = web.Application()
        app.router.add_post("/twirp/{route:.+}", self._handle)
        app.router.add_get("/rtc", self._join)
        app.router.add_get("/rtc/{tail:.*}", self._join)
        # A dial blocks until answered; when the client gives up, LiveKit drops the dial too.
        self._server.start(app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None)
        return self

    def stop(self) -> None:
        self._server.stop()

    # -- the Twirp endpoint ---------------------------------------------------------------------

    async def _handle(self, http: web.Request) -> web.Response:
        route = http.match_info["route"]
        method_name = route.removeprefix("livekit.")
        method = self._methods.get(route)
        request: Message | None = None
        claims: Mapping[str, Any] | None = None
        try:
            if method is None:
                raise _TwirpFailure("bad_route", f"no handler for path /twirp/{route}")
            json_body = http.content_type == "application/json"
            if http.content_type not in ("application/protobuf", "application/json"):
                raise _TwirpFailure("bad_route", f"unexpected Content-Type: {http.content_type!r}")
            request = self._decode(method.request_type, await http.read(), json_body)
            claims = self._authenticate(http.headers.get("Authorization"))
            self._authorize(method.grants, claims, request)
            response = await method.handler(request)
        except _TwirpFailure as failure:
            status = TWIRP_STATUS[failure.code]
            self._record(ReceivedCall(method_name, request, claims, status, failure.code))
            body: dict[str, Any] = {"code": failure.code, "msg": failure.message}
            if failure.meta:
                body["meta"] = failure.meta
            return web.json_response(body, status=status)
        self._record(ReceivedCall(method_name, request, claims, 200))
        if json_body:
            return web.Response(
                text=json_format.MessageToJson(response), content_type="application/json"
            )
        return web.Response(body=response.SerializeToString(), content_type="application/protobuf")

    async def _join(self, http: web.Request) -> web.Response:
        # The SDK sends its token as a bearer header; browsers' SDKs put it in the query.
        token = http.query.get("access_token")
        header = http.headers.get("Authorization") or (f"Bearer {token}" if token else None)
        claims: Mapping[str, Any] | None = None
        refusal: str | None = None
        try:
            claims = self._authenticate(header)
        except _TwirpFailure as failure:
            refusal = failure.message
        with self._lock:
            self._joins.append(JoinAttempt(http.path, claims, refusal))
        return web.Response(status=404, text="this LiveKit double has no WebRTC signalling")

    @staticmethod
    def _decode(request_type: type[Message], body: bytes, json_body: bool) -> Message:
        try:
            if json_body:
                return json_format.Parse(body, request_type())
            return request_type.FromString(body)
        except (DecodeError, json_format.ParseError) as exc:
            raise _TwirpFailure(
                "malformed", f"the request body could not be decoded: {exc}"
            ) from exc

    def _authenticate(self, header: str | None) -> Mapping[str, Any]:
        if not header:
            raise _TwirpFailure("unauthenticated", "missing authorization header")
        if not header.startswith("Bearer "):
            raise _TwirpFailure("unauthenticated", "invalid authorization header")
        token = header.removeprefix("Bearer ")
        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError as exc:
            raise _TwirpFailure("unauthenticated", "invalid authorization token") from exc
        with self._lock:
            secret = self._keys.get(issuer) if isinstance(issuer, str) else None
        if secret is None:
            raise _TwirpFailure("unauthenticated", "invalid API key")
        try:
            claims: Mapping[str, Any] = jwt.decode(
                token,
                secret,
                algorithms=["HS256"],
                issuer=issuer,
                options={"require": ["exp", "iss"]},
                leeway=5,
            )
        except jwt.PyJWTError as exc:
            raise _TwirpFailure(
                "unauthenticated", f"invalid authorization token: {type(exc).__name__}"
            ) from exc
        return claims

    def _authorize(self, needed: _Grants, claims: Mapping[str, Any], request: Message) -> None:
        video = claims.get("video") or {}
        sip = claims.get("sip") or {}
        allowed = (
            (not needed.room_create or video.get("roomCreate") is True)
            and (not needed.room_list or video.get("roomList") is True)
            and (not needed.sip_call or sip.get("call") is True)
        )
        if needed.room_admin:
            room = getattr(request, "room_name", "") or getattr(request, "room", "")
            allowed = allowed and video.get("roomAdmin") is True and video.get("room") == room
        if not allowed:
            raise _TwirpFailure(self._missing_grant_code, "permissions denied")

    def _record(self, call: ReceivedCall) -> None:
        with self._lock:
            self._calls.append(call)

    def _next_id(self, prefix: str) -> str:
        with self._lock:
            self._serial += 1
            return f"{prefix}_{self._serial:06d}"

    # -- RoomService ----------------------------------------------------------------------------

    async def _create_room(self, request: CreateRoomRequest) -> Room:
        if not request.name:
            raise _TwirpFailure("invalid_argument", "no room name")
        with self._lock:
            existing = self._rooms.get(request.name)
        if existing is not None:
            return existing
        room = Room(
            sid=self._next_id("RM"),
            name=request.name,
            empty_timeout=request.empty_timeout,
            departure_timeout=request.departure_timeout,
            max_participants=request.max_participants,
            metadata=request.metadata,
            creation_time=int(time.time()),
        )
        with self._lock:
            self._rooms.setdefault(request.name, room)
            self._participants.setdefault(request.name, {})
            return self._rooms[request.name]

    async def _delete_room(self, request: DeleteRoomRequest) -> DeleteRoomResponse:
        with self._lock:
            if self._rooms.pop(request.room, None) is None:
                raise _TwirpFailure("not_found", "requested room does not exist")
            # Deleting a room disconnects everyone in it: that is how a call is hung up.
            self._participants.pop(request.room, None)
        return DeleteRoomResponse()

    async def _list_rooms(self, request: ListRoomsRequest) -> ListRoomsResponse:
        with self._lock:
            rooms = [r for n, r in self._rooms.items() if not request.names or n in request.names]
        return ListRoomsResponse(rooms=rooms)

    async def _list_participants(
        self, request: ListParticipantsRequest
    ) -> ListParticipantsResponse:
        with self._lock:
            if request.room not in self._rooms:
                raise _TwirpFailure("not_found", "requested room does not exist")
            participants = list(self._participants.get(request.room, {}).values())
        return ListParticipantsResponse(participants=participants)

    # -- SIP ------------------------------------------------------------------------------------

    def _script_for(self, number: str) -> _Script:
        with self._lock:
            return self._scripts.get(number, _Script(Callee.answering(), None, "canceled"))

    @staticmethod
    def _ring_timeout(
        request: CreateSIPParticipantRequest | TransferSIPParticipantRequest,
    ) -> float:
        if request.HasField("ringing_timeout"):
            return request.ringing_timeout.ToTimedelta().total_seconds()
        return 30.0

    async def _play(self, script: _Script, ring_s: float, extra: Mapping[str, str]) -> None:
        """Wait as the callee would, then return if it answered or raise its failure."""
        if script.error is not None:
            await asyncio.sleep(script.error.after_s)
            raise _TwirpFailure(script.error.code, script.error.message, script.error.meta)
        callee = script.callee or Callee.answering()
        if callee.rings_out or callee.after_s >= ring_s:
            await asyncio.sleep(ring_s)
            if script.no_answer == "deadline_exceeded":
                raise _sip_failure(408, "Request Timeout", extra)
            raise _TwirpFailure("canceled", "sip request timed out")
        await asyncio.sleep(callee.after_s)
        if callee.sip_status is not None:
            raise _sip_failure(callee.sip_status, callee.reason, extra)

    async def _create_sip_participant(
        self, request: CreateSIPParticipantRequest
    ) -> SIPParticipantInfo:
        if not request.sip_call_to:
            raise _TwirpFailure("invalid_argument", "missing sip call to")
        if not request.room_name:
            raise _TwirpFailure("invalid_argument", "missing room name")
        with self._lock:
            known_trunk = request.sip_trunk_id in self._trunks
        if not known_trunk:
            raise _TwirpFailure("not_found", "requested sip trunk does not exist")
        # LiveKit creates the room when a dial names one that does not exist yet.
        await self._create_room(CreateRoomRequest(name=request.room_name))
        identity = request.participant_identity or f"sip_{request.sip_call_to}"
        call_id = self._next_id("SCL")
        if request.wait_until_answered:
            await self._play(self._script_for(request.sip_call_to), self._ring_timeout(request), {})
        participant = ParticipantInfo(
            sid=self._next_id("PA"),
            identity=identity,
            name=request.participant_name,
            kind=ParticipantInfo.Kind.SIP,
            state=ParticipantInfo.State.ACTIVE,
            metadata=request.participant_metadata,
            attributes={
                **request.participant_attributes,
                "sip.callID": call_id,
                "sip.callStatus": "active" if request.wait_until_answered else "dialing",
                "sip.phoneNumber": request.sip_call_to,
                "sip.trunkID": request.sip_trunk_id,
            },
        )
        with self._lock:
            if request.room_name not in self._rooms:
                # The room was deleted while the phone rang: the dial is hung up with it.
                raise _TwirpFailure("canceled", "room closed while dialing")
            self._participants[request.room_name][identity] = participant
        return SIPParticipantInfo(
            participant_id=participant.sid,
            participant_identity=identity,
            room_name=request.room_name,
            sip_call_id=call_id,
        )

    async def _transfer_sip_participant(
        self, request: TransferSIPParticipantRequest
    ) -> TransferSIPParticipantResponse:
        if not request.room_name:
            raise _TwirpFailure("invalid_argument", "Missing room name")
        if not request.participant_identity:
            raise _TwirpFailure("invalid_argument", "Missing participant identity")
        with self._lock:
            participant = self._participants.get(request.room_name, {}).get(
                request.participant_identity
            )
        if participant is None:
            raise _TwirpFailure("not_found", "participant does not exist")
        if participant.kind != ParticipantInfo.Kind.SIP:
            raise _TwirpFailure("invalid_argument", "no SIP session associated with participant")
        target = request.transfer_to.removeprefix("tel:")
        transfer_id = self._next_id("STR")
        try:
            await self._play(
                self._script_for(target),
                self._ring_timeout(request),
                {"sip_transfer_reason": "STR_REJECTED", "sip_transfer_id": transfer_id},
            )
        except _TwirpFailure as failure:
            if failure.code != "canceled" or failure.meta:
                raise
            # A transfer that rang out is answered, not raised, by servers that report results.
            return TransferSIPParticipantResponse(
                transfer_id=transfer_id,
                status=SIPTransferStatus.STS_TRANSFER_FAILED,
                reason=SIPTransferReason.STR_RINGING_TIMEOUT,
            )
        with self._lock:
            # The phone leg now talks to the target, not to the room.
            self._participants.get(request.room_name, {}).pop(request.participant_identity, None)
        return TransferSIPParticipantResponse(
            transfer_id=transfer_id,
            status=SIPTransferStatus.STS_TRANSFER_SUCCESSFUL,
            reason=SIPTransferReason.STR_COMPLETED,
            sip_status=SIPStatus(code=SIPStatusCode.SIP_STATUS_OK, status="OK"),
        )
