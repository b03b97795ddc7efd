"""A worker configured for LiveKit loads LiveKit's client libraries with its first LiveKit call,
not at start (its idle memory, `make bench-fleet`), and that first call still works; the RTC
SDK (and numpy under it) it never loads: the room's media runs in a room process of its own.

Each case runs a worker app in a fresh interpreter (this one has imported everything already),
built the way `create_app` builds it from settings, against the LiveKit Twirp double running
here. No LiveKit media server can run on this machine: the worker's real room process tries to
join the room and fails, as it would against a server without WebRTC, so the call ends and
frees the slot, after its Twirp requests (room, dial, token) went to the double.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from livekit.protocol.room import CreateRoomRequest, DeleteRoomRequest
from livekit.protocol.sip import CreateSIPParticipantRequest

from voxcore_adapters.testing.livekit_double import LiveKitDouble

REPO = Path(__file__).resolve().parents[2]
TRUNK = "ST_vox"
DEFERRED = ("livekit.api", "livekit.protocol", "google.protobuf", "aiohttp")
"""What a LiveKit call needs and an idle worker does without."""
NEVER = ("livekit.rtc", "numpy")
"""What only the room process loads."""

PROGRAM = f"""
import asyncio, json, sys
from litestar.testing import AsyncTestClient
from apps.fleet.deps import build_deps
from apps.fleet.main import create_app
from apps.fleet.settings import Settings

DEFERRED = {DEFERRED!r} + {NEVER!r}
url, key, secret, spool, path, body = sys.argv[1:]


async def main():
    settings = Settings(
        backend="memory", spool_dir=spool, host="fleet-test", worker="7",
        livekit_url=url, livekit_api_key=key, livekit_api_secret=secret,
    )
    app = create_app(settings, build_deps(settings), stop=lambda: None)
    async with AsyncTestClient(app) as client:
        health = await client.get("/health")
        idle = [name for name in DEFERRED if name in sys.modules]
        answer = await client.post(path, json=json.loads(body))
        for _ in range(3000):
            slot = (await client.get("/health")).json()["slot"]
            if slot["state"] == "idle":
                break
            await asyncio.sleep(0.01)
        ended = (await client.get("/metrics")).text
    print(json.dumps({{
        "health": health.status_code,
        "idle": idle,
        "status": answer.status_code,
        "answer": answer.json(),
        "slot": slot["state"],
        "ended": [n for n in ended.splitlines() if n.startswith("vox_fleet_calls_total{{")],
        "after": [name for name in DEFERRED if name in sys.modules],
    }}))


asyncio.run(main())
"""


@pytest.fixture
def double() -> Iterator[LiveKitDouble]:
    with LiveKitDouble(trunks=[TRUNK]) as server:
        yield server


def first_call(double: LiveKitDouble, spool: Path, path: str, body: dict[str, Any]) -> Any:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            PROGRAM,
            double.url,
            double.api_key,
            double.api_secret,
            str(spool),
            path,
            json.dumps(body),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_the_first_dialout_loads_the_livekit_client_and_places_the_call(
    tmp_path: Path, double: LiveKitDouble
) -> None:
    body = {
        "phone": "+14155550123",
        "trunk_id": TRUNK,
        "agent_id": "agent-1",
        "tenant_id": "tenant-1",
        "call_id": "call-1",
    }
    seen = first_call(double, tmp_path, "/livekit/dialout", body)
    assert seen["health"] == 200
    assert seen["idle"] == []
    assert seen["status"] == 202, seen["answer"]
    assert seen["answer"]["room"] == "call-call-1"
    # The dial was placed and answered; the room join failed (no media server), so the callee
    # was abandoned: the slot was freed and the room deleted.
    dials = [call.request for call in double.calls_to("SIP/CreateSIPParticipant")]
    assert [
        (d.sip_call_to, d.room_name) for d in dials if isinstance(d, CreateSIPParticipantRequest)
    ] == [("+14155550123", "call-call-1")]
    ends = [call.request for call in double.calls_to("RoomService/DeleteRoom")]
    assert [end.room for end in ends if isinstance(end, DeleteRoomRequest)] == ["call-call-1"]
    assert seen["slot"] == "idle"
    assert 'vox_fleet_calls_total{disposition="abandoned"} 1.0' in seen["ended"]
    assert set(seen["after"]) == set(DEFERRED)
    assert [name for name in NEVER if name in seen["after"]] == []
    # The room process tried the room with the agent's token before giving up.
    assert {j.claims["video"]["room"] for j in double.joins if j.claims} == {"call-call-1"}


def test_the_first_widget_call_loads_the_livekit_client_and_hands_out_a_working_token(
    tmp_path: Path, double: LiveKitDouble
) -> None:
    body = {"agent_id": "agent-1", "tenant_id": "tenant-1", "call_id": "w1"}
    seen = first_call(double, tmp_path, "/livekit/widget", body)
    assert seen["idle"] == []
    assert seen["status"] == 202, seen["answer"]
    rooms = [call.request for call in double.calls_to("RoomService/CreateRoom")]
    assert [room.name for room in rooms if isinstance(room, CreateRoomRequest)] == ["call-w1"]
    browser = jwt.decode(
        seen["answer"]["token"], double.api_secret, algorithms=["HS256"], issuer=double.api_key
    )
    assert (browser["sub"], browser["video"]["room"]) == ("web-w1", "call-w1")
    # Nobody was waiting on a widget call the agent could not join: a failure, not an abandon.
    assert seen["slot"] == "idle"
    assert 'vox_fleet_calls_total{disposition="failed"} 1.0' in seen["ended"]
    assert set(seen["after"]) == set(DEFERRED)
    assert [name for name in NEVER if name in seen["after"]] == []
