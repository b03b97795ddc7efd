"""What the LiveKit adapter sends and how it reads LiveKit's answers, against the Twirp double
through the real `livekit-api` client: requests and grants on the wire, every error shape,
auth failures, lost answers and concurrency."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Literal

import aiohttp
import pytest
from livekit.api import (
    AccessToken,
    CreateRoomRequest,
    CreateSIPParticipantRequest,
    ListParticipantsRequest,
    LiveKitAPI,
    ServerError,
    SipCallError,
    SIPGrants,
    TransferSIPParticipantRequest,
    VideoGrants,
)
from livekit.protocol.models import ParticipantInfo

from tests.integration.livekit.conftest import TRUNK
from tests.integration.livekit.test_telephony_contract import CALLER, NUMBER, dial
from voxcore_adapters.fakes.media_fakes import Callee
from voxcore_adapters.livekit import LiveKitSettings, LiveKitTelephony
from voxcore_adapters.livekit.telephony import CALL_ID_ATTRIBUTE
from voxcore_adapters.testing.livekit_double import (
    LiveKitDouble,
    ScriptedError,
    decode_error_details,
)
from voxcore_adapters.testing.process import free_port
from voxcore_domain.model import Disposition
from voxcore_domain.ports import DialResult, TelephonyError, TelephonyRefused, TrunkThrottled

pytestmark = pytest.mark.integration


async def test_a_dial_creates_the_room_then_dials_into_it_waiting_for_the_answer(
    double: LiveKitDouble, livekit: LiveKitTelephony
) -> None:
    await livekit.place_call(dial(ring_timeout_s=1.5))

    (room_call,) = double.calls_to("RoomService/CreateRoom")
    (sip_call,) = double.calls_to("SIP/CreateSIPParticipant")
    assert isinstance(room_call.request, CreateRoomRequest)
    assert room_call.request.name == "room-call-1"
    assert (room_call.request.empty_timeout, room_call.request.departure_timeout) == (30, 5)
    assert '"call_id": "call-1"' in room_call.request.metadata
    request = sip_call.request
    assert isinstance(request, CreateSIPParticipantRequest)
    assert (request.sip_trunk_id, request.sip_call_to, request.sip_number) == (
        TRUNK,
        NUMBER,
        CALLER,
    )
    assert (request.room_name, request.participant_identity) == ("room-call-1", "sip-call-1")
    assert request.wait_until_answered
    assert request.ringing_timeout.ToTimedelta().total_seconds() == 1.5
    assert request.max_call_duration.ToTimedelta().total_seconds() == 3600
    assert dict(request.participant_attributes) == {CALL_ID_ATTRIBUTE: "call-1"}
    # The grants the client signed, as the double verified them.
    assert room_call.claims is not None
    assert room_call.claims["video"]["roomCreate"] is True
    assert sip_call.claims is not None
    assert sip_call.claims["sip"]["call"] is True
    assert sip_call.claims["iss"] == double.api_key


async def test_the_answered_leg_is_a_sip_participant_of_the_room(
    double: LiveKitDouble, livekit: LiveKitTelephony
) -> None:
    await livekit.place_call(dial())

    token = (
        AccessToken(double.api_key, double.api_secret)
        .with_grants(VideoGrants(room_admin=True, room="room-call-1"))
        .to_jwt()
    )
    async with LiveKitAPI.with_token(token, double.url, failover=False) as api:
        listed = await api.room.list_participants(ListParticipantsRequest(room="room-call-1"))
    (leg,) = listed.participants
    assert (leg.identity, leg.kind) == ("sip-call-1", ParticipantInfo.Kind.SIP)
    assert leg.attributes["sip.callStatus"] == "active"
    assert leg.attributes[CALL_ID_ATTRIBUTE] == "call-1"


async def test_hanging_up_deletes_the_room(
    double: LiveKitDouble, livekit: LiveKitTelephony
) -> None:
    await livekit.place_call(dial())

    await livekit.hang_up("call-1", "room-call-1")

    assert "room-call-1" not in double.rooms
    assert [c.status for c in double.calls_to("RoomService/DeleteRoom")] == [200]


async def test_a_busy_signal_has_livekits_real_error_shape(double: LiveKitDouble) -> None:
    """The raw answer the adapter reads: Twirp resource_exhausted (HTTP 429) with the SIP
    status in its metadata, surfaced by the client as a SipCallError."""
    double.script(NUMBER, Callee.busy())
    async with LiveKitAPI(double.url, double.api_key, double.api_secret, failover=False) as api:
        with pytest.raises(SipCallError) as busy:
            await api.sip.create_sip_participant(
                CreateSIPParticipantRequest(
                    sip_trunk_id=TRUNK, sip_call_to=NUMBER, room_name="r", wait_until_answered=True
                )
            )
    error = busy.value
    assert (error.code, error.status, error.sip_status_code, error.sip_status) == (
        "resource_exhausted",
        429,
        486,
        "Busy Here",
    )
    grpc_code, message, (sip,) = decode_error_details(error.metadata["error_details"])
    assert (grpc_code, sip.code, sip.status) == (8, 486, "Busy Here")
    assert "486" in message


async def test_the_older_no_answer_shape_is_no_answer_too(
    double: LiveKitDouble, livekit: LiveKitTelephony
) -> None:
    double.script(NUMBER, Callee.no_answer(), no_answer="deadline_exceeded")

    result = await livekit.place_call(dial())

    assert result == DialResult("call-1", None, Disposition.NO_ANSWER, 408)
    assert double.calls_to("SIP/CreateSIPParticipant")[0].error_code == "deadline_exceeded"


@pytest.mark.parametrize("code", ["canceled", "deadline_exceeded"])
async def test_a_ring_timeout_without_sip_status_is_no_answer(
    double: LiveKitDouble, livekit: LiveKitTelephony, code: str
) -> None:
    double.script_error(NUMBER, ScriptedError(code, "sip request timed out"))

    result = await livekit.place_call(dial())

    assert result == DialResult("call-1", None, Disposition.NO_ANSWER, None)


async def test_livekits_own_rate_limit_throttles_the_trunk(
    double: LiveKitDouble, livekit: LiveKitTelephony
) -> None:
    double.script_error(NUMBER, ScriptedError("resource_exhausted", "quota limit exceeded"))

    with pytest.raises(TrunkThrottled) as throttled:
        await livekit.place_call(dial())

    assert (throttled.value.trunk_id, throttled.value.sip_status) == (TRUNK, None)
    assert throttled.value.code == "resource_exhausted"


async def test_a_server_fault_mid_dial_is_not_the_callees_and_ends_the_room(
    double: LiveKitDouble, livekit: LiveKitTelephony
) -> None:
    double.script_error(NUMBER, ScriptedError("internal", "sip not connected (redis required)"))

    with pytest.raises(TelephonyError) as failed:
        await livekit.place_call(dial())

    assert not isinstance(failed.value, TelephonyRefused)
    assert failed.value.code == "internal"
    assert "room-call-1" not in double.rooms


async def test_a_lost_answer_ends_the_call_and_counts_as_failed(
    double: LiveKitDouble, livekit: LiveKitTelephony
) -> None:
    """LiveKit never answers within ring time + the client's margin: the phone may still ring,
    so the adapter ends the room and reports a failed attempt."""
    double.script_error(NUMBER, ScriptedError("canceled", "late", after_s=10.0))
    started = time.monotonic()

    result = await livekit.place_call(dial())

    assert result == DialResult("call-1", None, Disposition.FAILED, None)
    assert time.monotonic() - started < 5
    assert "room-call-1" not in double.rooms


async def test_an_unreachable_server_rings_no_phone() -> None:
    settings = LiveKitSettings(f"http://127.0.0.1:{free_port()}", "key", "s" * 32)
    async with LiveKitTelephony(settings) as telephony:
        with pytest.raises(TelephonyError) as unreachable:
            await telephony.place_call(dial())
    assert not isinstance(unreachable.value, TelephonyRefused)


async def test_dials_run_concurrently(double: LiveKitDouble, livekit: LiveKitTelephony) -> None:
    numbers = [f"+1415555{i:04d}" for i in range(12)]
    for number in numbers:
        double.script(number, Callee.answering(after_s=0.5))
    started = time.monotonic()

    results = await asyncio.gather(
        *(livekit.place_call(dial(f"call-{i}", to=n)) for i, n in enumerate(numbers))
    )

    assert all(r.answered_at is not None for r in results)
    assert time.monotonic() - started < 2.0
    assert len(double.rooms) == 12


# -- authentication and grants ---------------------------------------------------------------


async def test_a_wrong_secret_is_unauthenticated(double: LiveKitDouble) -> None:
    settings = LiveKitSettings(double.url, double.api_key, "not-the-secret-" * 3)
    async with LiveKitTelephony(settings) as telephony:
        with pytest.raises(TelephonyRefused) as refused:
            await telephony.place_call(dial())
    assert refused.value.code == "unauthenticated"
    assert "not-the-secret" not in str(refused.value)
    assert [(c.status, c.error_code, c.claims) for c in double.calls] == [
        (401, "unauthenticated", None)
    ]


async def test_an_unknown_api_key_is_unauthenticated(double: LiveKitDouble) -> None:
    async with LiveKitAPI(double.url, "APIunknown", double.api_secret, failover=False) as api:
        with pytest.raises(ServerError) as refused:
            await api.room.create_room(CreateRoomRequest(name="r"))
    assert (refused.value.code, refused.value.status) == ("unauthenticated", 401)


async def test_a_missing_or_expired_token_is_unauthenticated(double: LiveKitDouble) -> None:
    body = CreateRoomRequest(name="r").SerializeToString()
    expired = (
        AccessToken(double.api_key, double.api_secret)
        .with_grants(VideoGrants(room_create=True))
        .with_ttl(timedelta(seconds=-60))
        .to_jwt()
    )
    async with aiohttp.ClientSession() as session:
        for headers in ({}, {"Authorization": f"Bearer {expired}"}, {"Authorization": "Basic x"}):
            async with session.post(
                f"{double.url}/twirp/livekit.RoomService/CreateRoom",
                data=body,
                headers={"Content-Type": "application/protobuf", **headers},
            ) as response:
                assert response.status == 401
                assert (await response.json())["code"] == "unauthenticated"


@pytest.mark.parametrize(
    ("video", "sip"),
    [
        (VideoGrants(room_create=True), None),  # no sip.call
        (VideoGrants(), SIPGrants(admin=True)),  # admin is not call
    ],
)
async def test_a_token_without_the_methods_grant_is_permission_denied(
    double: LiveKitDouble, video: VideoGrants, sip: SIPGrants | None
) -> None:
    token = AccessToken(double.api_key, double.api_secret).with_grants(video)
    if sip is not None:
        token = token.with_sip_grants(sip)
    async with LiveKitAPI.with_token(token.to_jwt(), double.url, failover=False) as api:
        with pytest.raises(ServerError) as denied:
            await api.sip.create_sip_participant(
                CreateSIPParticipantRequest(sip_trunk_id=TRUNK, sip_call_to=NUMBER, room_name="r")
            )
    assert (denied.value.code, denied.value.status) == ("permission_denied", 403)
    assert "sip_status_code" not in denied.value.metadata


async def test_room_admin_is_scoped_to_its_room(double: LiveKitDouble) -> None:
    token = (
        AccessToken(double.api_key, double.api_secret)
        .with_grants(VideoGrants(room_admin=True, room="other-room"))
        .to_jwt()
    )
    async with LiveKitAPI.with_token(token, double.url, failover=False) as api:
        with pytest.raises(ServerError) as denied:
            await api.room.list_participants(ListParticipantsRequest(room="room-call-1"))
    assert denied.value.code == "permission_denied"


async def test_a_transfer_needs_room_admin_as_well_as_sip_call(
    double: LiveKitDouble, livekit: LiveKitTelephony
) -> None:
    await livekit.place_call(dial())
    token = AccessToken(double.api_key, double.api_secret).with_sip_grants(SIPGrants(call=True))
    async with LiveKitAPI.with_token(token.to_jwt(), double.url, failover=False) as api:
        with pytest.raises(ServerError) as denied:
            await api.sip.transfer_sip_participant(
                TransferSIPParticipantRequest(
                    participant_identity="sip-call-1",
                    room_name="room-call-1",
                    transfer_to="tel:+14155550999",
                )
            )
    assert denied.value.code == "permission_denied"
    assert "sip-call-1" in double.participants("room-call-1")


@pytest.mark.parametrize("shape", ["permission_denied", "unauthenticated"])
async def test_a_missing_grant_in_either_shape_is_refused_never_a_decline(
    shape: Literal["permission_denied", "unauthenticated"],
) -> None:
    """LiveKit's SDK test server answers a missing grant with permission_denied, the production
    server with unauthenticated "permissions denied"; neither carries a SIP status, so neither
    is a callee's decline."""
    with LiveKitDouble(trunks=[TRUNK], missing_grant_code=shape) as server:
        token = AccessToken(server.api_key, server.api_secret).to_jwt()  # no grants at all
        async with LiveKitAPI.with_token(token, server.url, failover=False) as api:
            with pytest.raises(ServerError) as denied:
                await api.room.create_room(CreateRoomRequest(name="r"))
        assert (denied.value.code, denied.value.message) == (shape, "permissions denied")

        server.script_error(NUMBER, ScriptedError(shape, "permissions denied"))
        settings = LiveKitSettings(server.url, server.api_key, server.api_secret)
        async with LiveKitTelephony(settings) as telephony:
            with pytest.raises(TelephonyRefused) as refused:
                await telephony.place_call(dial())
        assert refused.value.code == shape


async def test_secrets_never_reach_the_logs(
    double: LiveKitDouble, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = LiveKitSettings(double.url, double.api_key, double.api_secret)
    double.script("+14155550111", Callee.busy())
    double.script("+14155550112", Callee.cps_limit())
    async with LiveKitTelephony(settings) as telephony:
        await telephony.place_call(dial("c1"))
        await telephony.place_call(dial("c2", to="+14155550111"))
        with pytest.raises(TrunkThrottled):
            await telephony.place_call(dial("c3", to="+14155550112"))
        await telephony.hang_up("c1", "room-c1")
    assert caplog.records
    assert double.api_secret not in caplog.text
    assert double.api_secret not in repr(settings)


# -- the double's own Twirp behaviour --------------------------------------------------------


async def test_the_double_speaks_twirp_json_and_refuses_what_twirp_refuses(
    double: LiveKitDouble,
) -> None:
    token = (
        AccessToken(double.api_key, double.api_secret)
        .with_grants(VideoGrants(room_create=True))
        .to_jwt()
    )
    auth = {"Authorization": f"Bearer {token}"}
    base = f"{double.url}/twirp/livekit.RoomService"
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{base}/CreateRoom", json={"name": "json-room"}, headers=auth
        ) as response:
            assert response.status == 200
            assert (await response.json())["name"] == "json-room"
        cases = [
            (f"{base}/CreateRoom", "text/plain", b"x", 404, "bad_route"),
            (f"{base}/CreateRoom", "application/protobuf", b"\xff\xff", 400, "malformed"),
            (f"{base}/NoSuchMethod", "application/protobuf", b"", 404, "bad_route"),
        ]
        for url, content_type, body, status, code in cases:
            async with session.post(
                url, data=body, headers={**auth, "Content-Type": content_type}
            ) as response:
                assert (response.status, (await response.json())["code"]) == (status, code)
