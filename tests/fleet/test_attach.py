"""`POST /attach`: one call per worker, 429 for the rest, 4xx naming the field at fault, and an
attached call that runs once its media stream arrives."""

from __future__ import annotations

import asyncio
from typing import Any

import attrs
import pytest
from litestar.testing import AsyncTestClient, TestClient

from apps.fleet.settings import Settings
from tests.fleet.support import CarrierOnSocket, wait_idle, worker_app
from voxcore_adapters.fakes.redis_fakes import InMemorySlotRegistry, ManualClock
from voxcore_adapters.testing.carrier import TwilioCarrier
from voxcore_adapters.voice.tones import ToneSynth
from voxcore_domain.model import SlotState
from voxcore_domain.voice.script import Script


def body(call_id: str = "call-1", **changes: Any) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "tenant_id": "tenant-1",
        "campaign_id": "campaign-1",
        "agent_id": "agent-1",
        "lease_token": "lease-1",
        "media": {"kind": "stream", "carrier": "twilio"},
        "variables": {"name": "Bea"},
        **changes,
    }


async def test_of_concurrent_attaches_exactly_one_is_accepted(settings: Settings) -> None:
    async with AsyncTestClient(worker_app(settings)) as client:
        answers = await asyncio.gather(
            *(client.post("/attach", json=body(f"call-{i}")) for i in range(20))
        )
        accepted = [answer for answer in answers if answer.status_code == 202]
        refused = [answer for answer in answers if answer.status_code == 429]
        assert len(accepted) == 1
        assert len(refused) == 19
        for answer in refused:
            assert answer.headers["Retry-After"] == "1"
            assert answer.json() == {"error": "busy", "message": "this worker holds a call"}
        winner = accepted[0].json()
        assert winner == {
            "call_id": winner["call_id"],
            "host": "fleet-test",
            "worker": "7",
            "state": "busy",
            "media_path": "/media/twilio",
            "media_wait_s": 0.5,
        }
        health = (await client.get("/health")).json()
        assert health["slot"]["call_id"] == winner["call_id"]
        metrics = (await client.get("/metrics")).text
        assert 'vox_fleet_handovers_total{result="accepted",route="attach"} 1.0' in metrics
        assert 'vox_fleet_handovers_total{result="busy",route="attach"} 19.0' in metrics
        assert 'vox_fleet_slot_state{vox_fleet_slot_state="busy"} 1.0' in metrics


async def test_the_slot_registry_hears_of_the_claim_at_once(settings: Settings) -> None:
    clock = ManualClock()
    registry = InMemorySlotRegistry(clock)
    slow = attrs.evolve(settings, heartbeat_s=30.0, slot_ttl_s=60.0)
    async with AsyncTestClient(worker_app(slow, slots=registry)) as client:
        (slot,) = await registry.slots()
        assert (slot.host, slot.worker, slot.state) == ("fleet-test", "7", SlotState.IDLE)
        assert (await client.post("/attach", json=body())).status_code == 202
        for _ in range(100):
            (slot,) = await registry.slots()
            if slot.state is SlotState.BUSY:
                break
            await asyncio.sleep(0.01)
        assert (slot.state, slot.call_id) == (SlotState.BUSY, "call-1")
    # A clean shutdown takes the slot out of the registry.
    assert await registry.slots() == []


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({k: v for k, v in body().items() if k != "call_id"}, 400, "call_id"),
        (body(variables={"name": 3}), 400, "variables[...]"),
        (body(extra=1), 400, "extra"),
        (body(media={"kind": "sip", "room": "r1"}), 400, "media.kind"),
        (body(media={"room": "r1"}), 400, "media.kind"),
        (body(media={"kind": "livekit"}), 400, "media.room"),
        (body(media={"kind": "stream"}), 400, "media.carrier"),
        (body(media={"kind": "stream", "carrier": "acme"}), 422, "media.carrier"),
        (body("call/1"), 422, "call_id"),
        (body(tenant_id=" "), 422, "tenant_id"),
        (body(agent_id=""), 422, "agent_id"),
    ],
)
def test_a_bad_body_is_refused_naming_the_field_and_takes_no_slot(
    settings: Settings, payload: dict[str, Any], status: int, field: str
) -> None:
    with TestClient(worker_app(settings)) as client:
        answer = client.post("/attach", json=payload)
        assert answer.status_code == status, answer.text
        assert answer.json()["field"] == field
        assert answer.json()["error"] == ("bad_request" if status == 400 else "validation")
        assert client.get("/health").json()["slot"]["state"] == "idle"


def test_malformed_json_is_a_bad_body(settings: Settings) -> None:
    with TestClient(worker_app(settings)) as client:
        answer = client.post(
            "/attach", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 400
        assert answer.json()["field"] == "body"


def test_an_attached_call_runs_on_its_stream_with_the_attachs_variables(
    settings: Settings,
) -> None:
    with TestClient(worker_app(settings)) as client:
        assert client.post("/attach", json=body()).status_code == 202
        with client.websocket_connect("/media/twilio") as ws:
            call = CarrierOnSocket(ws, TwilioCarrier({"call_id": "call-1"}))
            call.answer()
            greeting = Script().render({"name": "Bea"}).greeting
            assert call.carrier.prompts["greeting-1"] == ToneSynth().tones(greeting)
            call.send(call.carrier.stop())
            assert call.closed().code == 1000
        assert client.get("/health").json()["slot"]["state"] == "idle"


def test_an_attached_call_refuses_a_stream_from_another_carrier(settings: Settings) -> None:
    with TestClient(worker_app(settings)) as client:
        assert client.post("/attach", json=body()).status_code == 202
        with client.websocket_connect("/media/telnyx") as ws:
            ws.send_text(
                '{"event": "start", "stream_id": "s1", "start": {"call_control_id": "v3:1",'
                ' "media_format": {"encoding": "PCMU", "sample_rate": 8000, "channels": 1},'
                ' "custom_parameters": {"call_id": "call-1"}}}'
            )
            close = CarrierOnSocket(ws, TwilioCarrier({})).closed()
            assert close.code == 1008
            assert close.detail == "call call-1 was attached for /media/twilio"


def test_an_attached_call_whose_media_never_comes_frees_the_slot(settings: Settings) -> None:
    quick = attrs.evolve(settings, media_wait_s=0.2)
    with TestClient(worker_app(quick)) as client:
        assert client.post("/attach", json=body()).status_code == 202
        assert client.post("/attach", json=body("call-2")).status_code == 429
        assert wait_idle(client)
        assert client.post("/attach", json=body("call-2")).status_code == 202
        assert 'vox_fleet_calls_total{disposition="failed"} 1.0' in client.get("/metrics").text
