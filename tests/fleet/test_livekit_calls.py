"""LiveKit calls on the worker: `/livekit/dialout`, `/livekit/widget` and `/attach` with a room,
against the LiveKit Twirp double (real HTTP, real JWTs) for everything up to the media.

A LiveKit server cannot run here, so the agent joins rooms through `RoomJoin` below: it hands
the worker a real `RoomLeg` whose voice goes to a recorded output, and the test plays the caller
through the leg's event interface (`audio`, `dtmf`, `participant_left`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import attrs
import jwt
import pytest
from litestar.testing import AsyncTestClient
from livekit import rtc

from apps.fleet.deps import Deps, default_pipeline
from apps.fleet.main import create_app
from apps.fleet.settings import Settings
from tests.integration.livekit.test_room_leg import RecordedOutput
from voxcore_adapters.clock import UtcClock
from voxcore_adapters.fakes.fleet_api import InMemoryReportSender
from voxcore_adapters.fakes.media_fakes import Callee, InMemoryRecordingStore
from voxcore_adapters.fakes.redis_fakes import InMemorySlotRegistry
from voxcore_adapters.fleet.http import HttpFleetClient
from voxcore_adapters.livekit.joining import RoomJoiner, join_room
from voxcore_adapters.livekit.room_leg import EndCall, RoomJoinFailed, RoomLeg, Transfer
from voxcore_adapters.livekit.room_media import LiveKitRoomMedia
from voxcore_adapters.livekit.settings import LiveKitSettings
from voxcore_adapters.livekit.telephony import LiveKitTelephony
from voxcore_adapters.testing.carrier import quiet, voice
from voxcore_adapters.testing.livekit_double import LiveKitDouble
from voxcore_adapters.voice.scripted import ScriptedAgent
from voxcore_adapters.voice.tones import ToneSynth
from voxcore_domain.model import Disposition
from voxcore_domain.ports import AttachRequest, CallPipeline, ReportSender
from voxcore_domain.voice.script import Script

TRUNK = "ST_vox"
PHONE = "+14155550123"

pytestmark = pytest.mark.integration


@attrs.define
class Joined:
    """One join the worker asked for."""

    url: str
    token: str
    caller: str | None
    leg: RoomLeg
    transfer: Transfer | None
    end_call: EndCall | None


class RoomJoin:
    """Stands in for `join_room`: the caller is in the room at once (or never, with
    `caller_joins=False`), or the join fails as a missing server's does (`fail`)."""

    def __init__(self) -> None:
        self.joins: list[Joined] = []
        self.caller_joins = True
        self.fail: str | None = None

    async def __call__(
        self,
        url: str,
        token: str,
        *,
        caller: str | None,
        caller_wait_s: float,
        connect_timeout_s: float = 10.0,
        end_call: EndCall | None = None,
        transfer: Transfer | None = None,
    ) -> RoomLeg:
        if self.fail is not None:
            raise RoomJoinFailed(self.fail)
        leg = RoomLeg(RecordedOutput(), caller, end_call=end_call, transfer=transfer)
        self.joins.append(Joined(url, token, caller, leg, transfer, end_call))
        if self.caller_joins and caller is not None:
            leg.participant_joined(caller)
        await leg.wait_for_caller(caller_wait_s)
        return leg


@pytest.fixture
def double() -> Iterator[LiveKitDouble]:
    with LiveKitDouble(trunks=[TRUNK]) as server:
        yield server


@pytest.fixture
def lk_settings(settings: Settings, double: LiveKitDouble) -> Settings:
    return attrs.evolve(
        settings,
        livekit_url=double.url,
        livekit_api_key=double.api_key,
        livekit_api_secret=double.api_secret,
        livekit_ring_timeout_s=1.0,
        livekit_join_wait_s=0.3,
    )


@pytest.fixture
def joiner() -> RoomJoin:
    return RoomJoin()


def livekit_app(
    settings: Settings,
    joiner: RoomJoiner,
    pipeline: CallPipeline | None = None,
    reports: ReportSender | None = None,
) -> Any:
    clock = UtcClock()
    livekit = settings.livekit
    telephony = None if livekit is None else LiveKitTelephony(livekit, clock=clock)
    deps = Deps(
        slots=InMemorySlotRegistry(clock),
        recordings=InMemoryRecordingStore(settings.s3_bucket, clock),
        pipeline=pipeline or default_pipeline(),
        clock=clock,
        closers=() if telephony is None else (telephony.aclose,),
        livekit=telephony,
        join_room=joiner,
        reports=reports or InMemoryReportSender(),
    )
    return create_app(settings, deps, stop=lambda: None)


@pytest.fixture
async def client(lk_settings: Settings, joiner: RoomJoin) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(livekit_app(lk_settings, joiner)) as test_client:
        yield test_client


async def until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.01)


async def idle(client: AsyncTestClient[Any]) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if (await client.get("/health")).json()["slot"]["state"] == "idle":
            return True
        await asyncio.sleep(0.01)
    return False


def say(leg: RoomLeg, pcm: bytes) -> None:
    """The caller says `pcm` (8 kHz mono) in 20 ms room frames."""
    assert leg.caller is not None
    for at in range(0, len(pcm), 320):
        chunk = pcm[at : at + 320]
        leg.audio(leg.caller, rtc.AudioFrame(chunk, 8000, 1, len(chunk) // 2))


def claims(double: LiveKitDouble, token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(
        token, double.api_secret, algorithms=["HS256"], issuer=double.api_key
    )
    return decoded


def dialout(**changes: Any) -> dict[str, Any]:
    return {
        "phone": PHONE,
        "trunk_id": TRUNK,
        "agent_id": "agent-1",
        "tenant_id": "tenant-1",
        "call_id": "call-1",
        "variables": {"name": "Ann"},
        **changes,
    }


async def metric(client: AsyncTestClient[Any], line: str) -> bool:
    return line in (await client.get("/metrics")).text


# -- dial-out -------------------------------------------------------------------------------------


async def test_a_dialout_places_the_call_and_the_agent_talks_in_its_room(
    client: AsyncTestClient[Any], double: LiveKitDouble, joiner: RoomJoin
) -> None:
    answer = await client.post("/livekit/dialout", json=dialout())
    assert answer.status_code == 202, answer.text
    assert answer.json() == {
        "call_id": "call-1",
        "room": "call-call-1",
        "host": "fleet-test",
        "worker": "7",
        "state": "busy",
        "ring_timeout_s": 1.0,
    }
    await until(lambda: len(joiner.joins) == 1)
    (created,) = double.calls_to("RoomService/CreateRoom")[:1]
    assert created.claims is not None
    assert created.claims["video"]["roomCreate"] is True
    (dialled,) = double.calls_to("SIP/CreateSIPParticipant")
    request: Any = dialled.request
    assert (request.sip_call_to, request.sip_trunk_id, request.room_name) == (
        PHONE,
        TRUNK,
        "call-call-1",
    )
    assert request.participant_identity == "sip-call-1"
    assert request.sip_number == ""
    assert request.wait_until_answered is True
    assert request.ringing_timeout.ToTimedelta().total_seconds() == 1.0
    assert dialled.claims is not None
    assert dialled.claims["sip"]["call"] is True

    joined = joiner.joins[0]
    assert joined.url == double.url
    assert joined.caller == "sip-call-1"
    assert joined.transfer is not None
    token = claims(double, joined.token)
    assert token["sub"] == "agent-call-1"
    assert token["video"]["room"] == "call-call-1"
    assert token["video"]["roomJoin"] is True

    say(joined.leg, voice(600) + quiet(700))
    output = joined.leg._output
    assert isinstance(output, RecordedOutput)
    await until(lambda: len(output.frames) > 0)  # the greeting
    joined.leg.participant_left("sip-call-1", "CLIENT_INITIATED")
    assert await idle(client)
    assert await metric(client, 'vox_fleet_calls_total{disposition="hung_up"} 1.0')
    assert output.left == 1


async def test_a_busy_callee_frees_the_slot_without_joining(
    client: AsyncTestClient[Any], double: LiveKitDouble, joiner: RoomJoin
) -> None:
    double.script(PHONE, Callee.busy())
    assert (await client.post("/livekit/dialout", json=dialout())).status_code == 202
    assert await idle(client)
    assert joiner.joins == []
    assert await metric(client, 'vox_fleet_calls_total{disposition="busy"} 1.0')


async def test_an_unanswered_dial_frees_the_slot(
    client: AsyncTestClient[Any], double: LiveKitDouble, joiner: RoomJoin
) -> None:
    double.script(PHONE, Callee.no_answer())
    assert (await client.post("/livekit/dialout", json=dialout())).status_code == 202
    assert await idle(client)
    assert joiner.joins == []
    assert await metric(client, 'vox_fleet_calls_total{disposition="no_answer"} 1.0')


async def test_an_unknown_trunk_fails_the_call_and_ends_its_room(
    client: AsyncTestClient[Any], double: LiveKitDouble, joiner: RoomJoin
) -> None:
    answer = await client.post("/livekit/dialout", json=dialout(trunk_id="ST_nope"))
    assert answer.status_code == 202
    assert await idle(client)
    assert joiner.joins == []
    assert "call-call-1" not in double.rooms
    deleted = [call.request for call in double.calls_to("RoomService/DeleteRoom")]
    assert [getattr(request, "room", None) for request in deleted] == ["call-call-1"]
    assert await metric(client, 'vox_fleet_calls_total{disposition="failed"} 1.0')


async def test_a_room_the_agent_cannot_join_hangs_the_answered_call_up(
    client: AsyncTestClient[Any], double: LiveKitDouble, joiner: RoomJoin
) -> None:
    """The callee answered and never got the agent: an abandoned call, not a failure."""
    joiner.fail = "cannot join the LiveKit room: connection refused"
    assert (await client.post("/livekit/dialout", json=dialout())).status_code == 202
    assert await idle(client)
    assert double.calls_to("SIP/CreateSIPParticipant")[0].status == 200
    assert "call-call-1" not in double.rooms
    assert await metric(client, 'vox_fleet_calls_total{disposition="abandoned"} 1.0')


async def test_a_busy_worker_refuses_a_dialout_with_retry_after(
    client: AsyncTestClient[Any], double: LiveKitDouble, joiner: RoomJoin
) -> None:
    assert (await client.post("/livekit/dialout", json=dialout())).status_code == 202
    await until(lambda: len(joiner.joins) == 1)
    refused = await client.post("/livekit/dialout", json=dialout(call_id="call-2"))
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert refused.json() == {"error": "busy", "message": "this worker holds a call"}
    assert len(double.calls_to("SIP/CreateSIPParticipant")) == 1
    widget = await client.post("/livekit/widget", json={"agent_id": "a", "tenant_id": "t"})
    assert widget.status_code == 429
    joiner.joins[0].leg.participant_left("sip-call-1")
    assert await idle(client)


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"phone": None}, 400, "phone"),
        ({"phone": "5550123"}, 422, "phone"),
        ({"caller_id": "+0123"}, 422, "caller_id"),
        ({"trunk_id": ""}, 422, "trunk_id"),
        ({"call_id": "a b"}, 422, "call_id"),
        ({"tenant_id": ""}, 422, "tenant_id"),
        ({"variables": {"name": 3}}, 400, "variables[...]"),
        ({"ring": 3}, 400, "ring"),
    ],
)
async def test_a_bad_dialout_is_refused_naming_the_field_and_takes_no_slot(
    client: AsyncTestClient[Any],
    double: LiveKitDouble,
    changes: dict[str, Any],
    status: int,
    field: str,
) -> None:
    body = {k: v for k, v in dialout(**changes).items() if v is not None}
    answer = await client.post("/livekit/dialout", json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["field"] == field
    assert (await client.get("/health")).json()["slot"]["state"] == "idle"
    assert double.calls == []


async def test_livekit_refusing_the_worker_is_502_and_frees_the_slot(
    lk_settings: Settings, double: LiveKitDouble, joiner: RoomJoin
) -> None:
    wrong = attrs.evolve(lk_settings, livekit_api_secret="not-the-secret-the-server-knows-at-all")
    async with AsyncTestClient(livekit_app(wrong, joiner)) as client:
        answer = await client.post("/livekit/dialout", json=dialout())
        assert answer.status_code == 502
        assert answer.json()["error"] == "livekit"
        assert "unauthenticated" in answer.json()["message"]
        assert "not-the-secret" not in answer.text
        assert (await client.get("/health")).json()["slot"]["state"] == "idle"
        widget = await client.post("/livekit/widget", json={"agent_id": "a", "tenant_id": "t"})
        assert widget.status_code == 502
        assert (await client.get("/health")).json()["slot"]["state"] == "idle"
    assert double.calls_to("SIP/CreateSIPParticipant") == []


async def test_a_worker_without_livekit_answers_503(settings: Settings, joiner: RoomJoin) -> None:
    async with AsyncTestClient(livekit_app(settings, joiner)) as client:
        for path, body in (
            ("/livekit/dialout", dialout()),
            ("/livekit/widget", {"agent_id": "a", "tenant_id": "t"}),
        ):
            answer = await client.post(path, json=body)
            assert answer.status_code == 503
            assert answer.json()["error"] == "livekit_not_configured"
        assert (await client.get("/health")).json()["slot"]["state"] == "idle"


# -- widget ---------------------------------------------------------------------------------------


async def test_a_widget_call_gives_the_browser_its_token_and_talks_once_it_joins(
    client: AsyncTestClient[Any], double: LiveKitDouble, joiner: RoomJoin
) -> None:
    answer = await client.post(
        "/livekit/widget", json={"agent_id": "agent-1", "tenant_id": "tenant-1", "call_id": "w1"}
    )
    assert answer.status_code == 202, answer.text
    session = answer.json()
    assert (session["call_id"], session["room"], session["url"]) == ("w1", "call-w1", double.url)
    assert session["identity"] == "web-w1"
    assert session["join_wait_s"] == 0.3
    browser = claims(double, session["token"])
    assert browser["sub"] == "web-w1"
    assert browser["video"] == {
        "roomJoin": True,
        "room": "call-w1",
        "canPublish": True,
        "canSubscribe": True,
        "canPublishData": True,
    }
    assert "call-w1" in double.rooms
    await until(lambda: len(joiner.joins) == 1)
    joined = joiner.joins[0]
    assert joined.caller == "web-w1"
    assert joined.transfer is None
    assert claims(double, joined.token)["sub"] == "agent-w1"
    say(joined.leg, voice(600) + quiet(700))
    output = joined.leg._output
    assert isinstance(output, RecordedOutput)
    await until(lambda: len(output.frames) > 0)
    joined.leg.participant_left("web-w1")
    assert await idle(client)
    assert await metric(client, 'vox_fleet_calls_total{disposition="hung_up"} 1.0')


async def test_a_browser_that_never_joins_fails_the_call_and_ends_the_room(
    client: AsyncTestClient[Any], double: LiveKitDouble, joiner: RoomJoin
) -> None:
    joiner.caller_joins = False
    answer = await client.post("/livekit/widget", json={"agent_id": "a", "tenant_id": "t"})
    assert answer.status_code == 202
    room = answer.json()["room"]
    assert answer.json()["call_id"].startswith("lk-")
    assert await idle(client)
    assert room not in double.rooms
    assert await metric(client, 'vox_fleet_calls_total{disposition="failed"} 1.0')


async def test_a_bad_widget_body_names_the_field(client: AsyncTestClient[Any]) -> None:
    answer = await client.post("/livekit/widget", json={"tenant_id": "t"})
    assert (answer.status_code, answer.json()["field"]) == (400, "agent_id")
    answer = await client.post("/livekit/widget", json={"agent_id": "", "tenant_id": "t"})
    assert (answer.status_code, answer.json()["field"]) == (422, "agent_id")
    assert (await client.get("/health")).json()["slot"]["state"] == "idle"


# -- /attach with a room --------------------------------------------------------------------------


def attach(media: dict[str, Any]) -> dict[str, Any]:
    return {
        "call_id": "call-9",
        "tenant_id": "tenant-1",
        "campaign_id": "campaign-1",
        "agent_id": "agent-1",
        "lease_token": "lease-1",
        "media": media,
    }


async def test_an_attached_room_is_joined_with_the_workers_own_token(
    client: AsyncTestClient[Any], double: LiveKitDouble, joiner: RoomJoin
) -> None:
    answer = await client.post("/attach", json=attach({"kind": "livekit", "room": "room-9"}))
    assert answer.status_code == 202, answer.text
    assert answer.json() == {
        "call_id": "call-9",
        "host": "fleet-test",
        "worker": "7",
        "state": "busy",
        "room": "room-9",
        "join_wait_s": 0.3,
    }
    await until(lambda: len(joiner.joins) == 1)
    joined = joiner.joins[0]
    assert joined.caller == "sip-call-9"
    assert joined.transfer is not None
    assert claims(double, joined.token)["video"]["room"] == "room-9"
    joined.leg.participant_left("sip-call-9")
    assert await idle(client)


async def test_an_attached_room_uses_the_token_it_came_with(
    client: AsyncTestClient[Any], double: LiveKitDouble, joiner: RoomJoin
) -> None:
    token = jwt.encode(
        {"iss": "other", "exp": int(time.time()) + 60, "video": {"roomJoin": True, "room": "r9"}},
        "another-key-secret-long-enough-for-hs256",
    )
    media = {"kind": "livekit", "room": "r9", "token": token, "caller_identity": "web-7"}
    assert (await client.post("/attach", json=attach(media))).status_code == 202
    await until(lambda: len(joiner.joins) == 1)
    assert (joiner.joins[0].token, joiner.joins[0].caller) == (token, "web-7")
    assert joiner.joins[0].transfer is None
    joiner.joins[0].leg.participant_left("web-7")
    assert await idle(client)


@pytest.mark.parametrize(
    ("claims_", "message"),
    [
        ({"video": {"roomJoin": True, "room": "elsewhere"}}, "is for room 'elsewhere'"),
        ({"video": {"room": "r9"}}, "does not grant roomJoin"),
        ({"video": {"roomJoin": True, "room": "r9"}, "exp": 1}, "has expired"),
    ],
)
async def test_an_attached_token_that_cannot_join_the_room_is_422(
    client: AsyncTestClient[Any], claims_: dict[str, Any], message: str
) -> None:
    token = jwt.encode({"exp": int(time.time()) + 60, **claims_}, "k" * 32)
    media = {"kind": "livekit", "room": "r9", "token": token}
    answer = await client.post("/attach", json=attach(media))
    assert answer.status_code == 422
    assert answer.json()["field"] == "media.token"
    assert message in answer.json()["message"]
    bad = await client.post("/attach", json=attach({**media, "token": "not-a-jwt"}))
    assert (bad.status_code, bad.json()["field"]) == (422, "media.token")
    assert (await client.get("/health")).json()["slot"]["state"] == "idle"


async def test_a_worker_without_a_livekit_key_needs_a_token_to_attach(
    settings: Settings, joiner: RoomJoin
) -> None:
    url_only = attrs.evolve(settings, livekit_url="wss://lk.example.com")
    async with AsyncTestClient(livekit_app(url_only, joiner)) as client:
        answer = await client.post("/attach", json=attach({"kind": "livekit", "room": "r9"}))
        assert (answer.status_code, answer.json()["field"]) == (422, "media.token")
    async with AsyncTestClient(livekit_app(settings, joiner)) as client:
        answer = await client.post("/attach", json=attach({"kind": "livekit", "room": "r9"}))
        assert answer.status_code == 503


# -- /attach with a room from the dialler ----------------------------------------------------

DIALLER_KEY = "APIdialler"
DIALLER_SECRET = "the-dialler-s-own-secret-long-enough-for-hs256"


def dialler_fleet(client: AsyncTestClient[Any], double: LiveKitDouble) -> HttpFleetClient:
    """The dialler's fleet client for calls it placed on `double`, with a key of its own (the
    worker's is another), posting to the worker app under test."""
    double.add_key(DIALLER_KEY, DIALLER_SECRET)
    media = LiveKitRoomMedia(LiveKitSettings(double.url, DIALLER_KEY, DIALLER_SECRET))
    return HttpFleetClient({"fleet-test": str(client.base_url)}, client, media)


ANSWERED = AttachRequest("c-7", "tenant-1", "campaign-1", "agent-1", "lease-7", "call-c-7")


async def test_the_dialler_s_room_attach_is_joined_with_the_dialler_s_token(
    client: AsyncTestClient[Any], double: LiveKitDouble, joiner: RoomJoin
) -> None:
    fleet = dialler_fleet(client, double)
    minted_at = time.time()
    result = await fleet.attach(ANSWERED, ["fleet-test"])
    assert (result.accepted, result.host) == (True, "fleet-test")
    await until(lambda: len(joiner.joins) == 1)
    joined = joiner.joins[0]
    assert (joined.url, joined.caller) == (double.url, "sip-c-7")
    # The phone leg can be transferred: the worker has its own key for that.
    assert joined.transfer is not None
    token = jwt.decode(joined.token, DIALLER_SECRET, algorithms=["HS256"], issuer=DIALLER_KEY)
    assert token["sub"] == "agent-c-7"
    assert token["kind"] == "agent"
    assert token["video"] == {
        "roomJoin": True,
        "room": "call-c-7",
        "canPublish": True,
        "canSubscribe": True,
        "canPublishData": False,
        "canPublishSources": ["microphone"],
        "agent": True,
    }
    assert token["nbf"] <= time.time()
    assert minted_at + 2 * 3600 - 5 <= token["exp"] <= time.time() + 2 * 3600
    assert (await client.get("/health")).json()["slot"]["state"] == "busy"
    joined.leg.participant_left("sip-c-7")
    assert await idle(client)


async def test_a_room_the_agent_cannot_join_ends_the_attached_call_and_frees_the_slot(
    lk_settings: Settings, double: LiveKitDouble
) -> None:
    """The real `join_room` against the double, which has no WebRTC signalling: the one step
    no test here can make succeed fails as it would against a server without it."""
    reports = InMemoryReportSender()
    app = livekit_app(lk_settings, join_room, reports=reports)
    async with AsyncTestClient(app) as client:
        assert lk_settings.livekit is not None
        async with LiveKitTelephony(lk_settings.livekit) as telephony:
            await telephony.create_room("call-c-7", "c-7")
        fleet = dialler_fleet(client, double)
        assert (await fleet.attach(ANSWERED, ["fleet-test"])).accepted
        assert await idle(client)
        assert "call-c-7" not in double.rooms
        assert await metric(client, 'vox_fleet_calls_total{disposition="abandoned"} 1.0')
    # It tried the room it was given, as the dialler's agent, before giving up.
    assert double.joins
    assert {j.claims["video"]["room"] for j in double.joins if j.claims} == {"call-c-7"}
    assert {j.claims["iss"] for j in double.joins if j.claims} == {DIALLER_KEY}
    attached, ended = reports.of_call("c-7")
    assert attached.kind.value == "attached"
    assert ended.disposition is Disposition.ABANDONED
    assert ended.lease_token == "lease-7"
    assert "cannot join the LiveKit room" in str(ended.detail["reason"])


@pytest.mark.parametrize(
    ("media", "status", "field"),
    [
        ({"kind": "livekit", "room": ""}, 422, "media.room"),
        ({"kind": "livekit", "room": 7}, 400, "media.room"),
        ({"kind": "livekit", "room": "r9", "token": 7}, 400, "media.token"),
        ({"kind": "livekit", "room": "r9", "caller_identity": " "}, 422, "media.caller_identity"),
        ({"kind": "livekit", "room": "r9", "carrier": "twilio"}, 400, "media.carrier"),
    ],
)
async def test_a_bad_room_attach_is_refused_naming_the_field_and_takes_no_slot(
    client: AsyncTestClient[Any],
    joiner: RoomJoin,
    media: dict[str, Any],
    status: int,
    field: str,
) -> None:
    answer = await client.post("/attach", json=attach(media))
    assert answer.status_code == status, answer.text
    assert answer.json()["field"] == field
    assert (await client.get("/health")).json()["slot"]["state"] == "idle"
    assert joiner.joins == []
    # The slot is free: the same call with a good room is taken at once.
    retry = await client.post("/attach", json=attach({"kind": "livekit", "room": "r9"}))
    assert retry.status_code == 202, retry.text
    await until(lambda: len(joiner.joins) == 1)
    joiner.joins[0].leg.participant_left("sip-call-9")
    assert await idle(client)


# -- transfers ------------------------------------------------------------------------------------

DESK = "+14155550199"


def transferring_agent() -> ScriptedAgent:
    return ScriptedAgent(Script(transfer_to=DESK), ToneSynth())


def hold_and_apology() -> int:
    """20 ms frames of the hold prompt and the failed transfer's apology."""
    script, synth = Script(), ToneSynth()
    texts = (script.transfer_prompt, script.transfer_failed)
    return sum(-(-len(synth.tones(text)) // 320) for text in texts)


async def greeted(joiner: RoomJoin) -> tuple[RoomLeg, RecordedOutput]:
    await until(lambda: len(joiner.joins) == 1)
    leg = joiner.joins[0].leg
    output = leg._output
    assert isinstance(output, RecordedOutput)
    say(leg, voice(600) + quiet(700))
    await until(lambda: len(output.frames) > 0)
    return leg, output


async def test_pressing_zero_transfers_the_phone_leg_through_livekit(
    lk_settings: Settings, double: LiveKitDouble, joiner: RoomJoin
) -> None:
    async with AsyncTestClient(livekit_app(lk_settings, joiner, transferring_agent())) as client:
        assert (await client.post("/livekit/dialout", json=dialout())).status_code == 202
        leg, output = await greeted(joiner)
        leg.dtmf("sip-call-1", "0")
        assert await idle(client)
        assert await metric(client, 'vox_fleet_calls_total{disposition="transferred"} 1.0')
    (transfer,) = double.calls_to("SIP/TransferSIPParticipant")
    request: Any = transfer.request
    assert (request.participant_identity, request.room_name, request.transfer_to) == (
        "sip-call-1",
        "call-call-1",
        f"tel:{DESK}",
    )
    assert transfer.status == 200
    assert transfer.claims is not None
    assert transfer.claims["video"]["roomAdmin"] is True
    # The phone leg went to the desk; the agent left, and ended nothing behind it.
    assert output.left == 1
    assert double.calls_to("RoomService/DeleteRoom") == []


async def test_a_failed_transfer_is_said_and_the_call_goes_on(
    lk_settings: Settings, double: LiveKitDouble, joiner: RoomJoin
) -> None:
    double.script(DESK, Callee.busy())
    async with AsyncTestClient(livekit_app(lk_settings, joiner, transferring_agent())) as client:
        assert (await client.post("/livekit/dialout", json=dialout())).status_code == 202
        leg, output = await greeted(joiner)
        before = len(output.frames)
        leg.dtmf("sip-call-1", "0")
        await until(lambda: len(double.calls_to("SIP/TransferSIPParticipant")) == 1)
        # The hold prompt, then "I could not transfer you", all of it.
        await until(lambda: len(output.frames) >= before + hold_and_apology())
        assert (await client.get("/health")).json()["slot"]["state"] == "busy"
        leg.participant_left("sip-call-1")
        assert await idle(client)
        assert await metric(client, 'vox_fleet_calls_total{disposition="hung_up"} 1.0')
    assert double.calls_to("SIP/TransferSIPParticipant")[0].error_code == "resource_exhausted"


async def test_a_browser_cannot_be_transferred_and_hears_so(
    lk_settings: Settings, double: LiveKitDouble, joiner: RoomJoin
) -> None:
    async with AsyncTestClient(livekit_app(lk_settings, joiner, transferring_agent())) as client:
        widget = await client.post("/livekit/widget", json={"agent_id": "a", "tenant_id": "t"})
        assert widget.status_code == 202
        leg, output = await greeted(joiner)
        before = len(output.frames)
        leg.dtmf(None, "0")
        await until(lambda: len(output.frames) >= before + hold_and_apology())
        leg.participant_left(widget.json()["identity"])
        assert await idle(client)
        assert await metric(client, 'vox_fleet_calls_total{disposition="hung_up"} 1.0')
    assert double.calls_to("SIP/TransferSIPParticipant") == []
