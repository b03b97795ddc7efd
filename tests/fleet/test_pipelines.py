"""The agent's `provider` picks the call's pipeline on the worker: a `realtime` agent's call talks
to the local realtime server (`voxcore_adapters.testing.realtime_server`, real WebSockets on
loopback) with the worker's own key and endpoint; a `scripted` agent runs the scripted agent; an
agent that cannot run here fails its call cleanly, naming the setting, and the slot is freed."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient

from apps.fleet.deps import build_deps
from apps.fleet.pipelines import Pipelines
from apps.fleet.settings import Backend, Settings
from tests.fleet.support import PARAMETERS, CarrierOnSocket, wait_idle, worker_app
from voxcore_adapters.fakes.fleet_api import InMemoryAgentConfigs, InMemoryReportSender
from voxcore_adapters.testing.carrier import TwilioCarrier, quiet, voice
from voxcore_adapters.testing.realtime_server import RealtimeServer, Reply
from voxcore_adapters.voice.providers import REALTIME, script_for
from voxcore_adapters.voice.realtime import PROVIDER, RealtimeAgent
from voxcore_adapters.voice.scripted import ScriptedAgent
from voxcore_adapters.voice.tones import ToneSynth
from voxcore_domain.model import Disposition
from voxcore_domain.voice import mulaw
from voxcore_domain.voice.agent_config import AgentConfig

pytestmark = pytest.mark.integration

KEY = "sk-test-the-workers-realtime-key-0123"
GREETING = "Hello Ann, this is the clinic calling."
GOODBYE = "Thank you, goodbye."


def config(**changes: Any) -> AgentConfig:
    values: dict[str, Any] = {
        "agent_id": "agent-1",
        "tenant_id": "tenant-1",
        "version": 1,
        "name": "Clinic",
        "greeting": "Hello {name}.",
        "language": "en-US",
        "voice": "marin",
        "instructions": "You are the clinic's assistant.",
        "provider": "realtime",
        "voicemail_policy": "hang_up",
        "provider_settings": {"model": "gpt-realtime-mini"},
        **changes,
    }
    return AgentConfig(**values)


@pytest.fixture
def server() -> Iterator[RealtimeServer]:
    with RealtimeServer(KEY, (Reply(GREETING), Reply(GOODBYE, end_call=True))) as running:
        yield running


def app_for(settings: Settings, agent: AgentConfig, reports: InMemoryReportSender) -> Any:
    return worker_app(
        settings,
        reports=reports,
        configs=InMemoryAgentConfigs([agent]),
        pipeline_for=Pipelines(settings.realtime_api_key, settings.realtime_url),
    )


def converse_until(call: CarrierOnSocket, done: Any, timeout_s: float = 10.0) -> None:
    """Answer the worker's frames; while it sends none, the caller streams 100 ms of silence
    (a carrier never stops sending), so its queued audio plays and its marks come back."""
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; the agent sent {call.carrier.events[-5:]}")
        try:
            text = call.ws.receive_text(timeout=0.05)
        except queue.Empty:
            call.send(call.carrier.say(quiet(100)))
            continue
        call.send(call.carrier.hear(text))


def closed(call: CarrierOnSocket) -> WebSocketDisconnect:
    try:
        converse_until(call, lambda: False)
    except WebSocketDisconnect as close:
        return close
    raise AssertionError("unreachable: converse_until returns only by raising")


def test_a_realtime_agents_call_talks_to_the_realtime_server_through_the_worker(
    settings: Settings, server: RealtimeServer
) -> None:
    settings = attrs.evolve(settings, realtime_api_key=KEY, realtime_url=server.url)
    reports = InMemoryReportSender()
    with (
        TestClient(app_for(settings, config(), reports)) as client,
        client.websocket_connect("/media/twilio") as ws,
    ):
        call = CarrierOnSocket(ws, TwilioCarrier(PARAMETERS))
        call.send(call.carrier.opening())
        greeting = mulaw.decode(mulaw.encode(server.synth.tones(GREETING)))
        converse_until(call, lambda: len(call.carrier.heard) >= len(greeting))
        call.listen()
        call.send(call.carrier.say(voice(600) + quiet(700)))
        close = closed(call)
        assert (close.code, close.detail) == (1000, "call ended: completed")
        assert wait_idle(client)
    # The model's own voice reached the caller: the greeting first, then the goodbye.
    assert bytes(call.carrier.heard[: len(greeting)]) == greeting
    goodbye = mulaw.decode(mulaw.encode(server.synth.tones(GOODBYE)))
    assert bytes(call.carrier.heard[len(greeting) :]) == goodbye
    assert server.handshakes == [{"model": "gpt-realtime-mini"}]
    update = server.received[0]
    assert update["type"] == "session.update"
    assert "You are the clinic's assistant." in update["session"]["instructions"]
    assert "- name: Ann" in update["session"]["instructions"]
    # The caller's audio went up to the model.
    assert "input_audio_buffer.append" in server.received_types()
    ended = reports.of_call("call-1")[-1]
    assert ended.disposition is Disposition.COMPLETED
    assert ended.detail["reason"] == "the agent ended the call"
    assert ended.detail["recording_key"] == "tenant-1/call-1/call.wav"


@pytest.mark.parametrize(
    ("key", "agent_settings", "field"),
    [
        (None, {}, "realtime_api_key"),
        (KEY, {"url": "wss://collector.example.com/v1/realtime"}, "provider_settings.url"),
        (KEY, {"voice": ""}, "provider_settings.voice"),
    ],
    ids=["no-key", "foreign-url", "bad-voice"],
)
def test_a_realtime_agent_that_cannot_run_fails_its_call_naming_the_setting(
    settings: Settings,
    server: RealtimeServer,
    key: str | None,
    agent_settings: dict[str, Any],
    field: str,
) -> None:
    settings = attrs.evolve(settings, realtime_api_key=key, realtime_url=server.url)
    reports = InMemoryReportSender()
    agent = config(provider_settings=agent_settings)
    with (
        TestClient(app_for(settings, agent, reports)) as client,
        client.websocket_connect("/media/twilio") as ws,
    ):
        call = CarrierOnSocket(ws, TwilioCarrier(PARAMETERS))
        call.send(call.carrier.opening())
        close = call.closed()
        assert (close.code, close.detail) == (1000, "call ended: failed")
        assert wait_idle(client)
    ended = reports.of_call("call-1")[-1]
    assert ended.disposition is Disposition.FAILED
    assert ended.detail["reason"].startswith(f"agent agent-1 cannot run: {field}: ")
    assert KEY not in ended.detail["reason"]
    # Nothing reached the realtime server: above all, never the key at another endpoint.
    assert server.handshakes == []


def test_a_scripted_agent_runs_the_scripted_pipeline_with_its_own_prompts() -> None:
    pipelines = Pipelines(KEY, "ws://127.0.0.1:1/v1/realtime")
    scripted = config(provider="scripted", prompts={"reply_1": "Shall we?", "goodbye": "Bye."})
    assert isinstance(pipelines(scripted), ScriptedAgent)
    script = script_for(scripted)
    assert (script.replies, script.closing) == (("Shall we?",), "Bye.")
    assert isinstance(pipelines(config()), RealtimeAgent)
    assert PROVIDER == REALTIME


async def test_the_workers_settings_reach_the_pipeline_choice(tmp_path: Any) -> None:
    settings = Settings(
        backend=Backend.REAL,
        s3_access_key="access",
        s3_secret_key="secret-key",
        api_token="internal-" + "t" * 40,
        realtime_api_key=KEY,
        realtime_url="wss://realtime.internal.example/v1/realtime",
        spool_dir=str(tmp_path),
    )
    deps = build_deps(settings)
    try:
        pipelines = deps.pipeline_for
        assert isinstance(pipelines, Pipelines)
        assert (pipelines.realtime_api_key, pipelines.realtime_url) == (
            KEY,
            "wss://realtime.internal.example/v1/realtime",
        )
        assert KEY not in repr(deps.pipeline_for)
        assert KEY not in repr(settings)
    finally:
        for close in deps.closers:
            await close()


def test_an_attached_calls_config_is_read_while_its_media_is_on_the_way(
    settings: Settings,
) -> None:
    """The dialler's attach comes before the carrier's stream: the agent's config is read
    then, so the API's round trip is not between the caller's hello and the greeting."""
    configs = InMemoryAgentConfigs([config(provider="scripted", greeting="Hi {name}, Acme here.")])
    reports = InMemoryReportSender()
    app = worker_app(settings, reports=reports, configs=configs, pipeline_for=Pipelines())
    with TestClient(app) as client:
        body = {
            "call_id": "call-1",
            "tenant_id": "tenant-1",
            "campaign_id": "campaign-1",
            "agent_id": "agent-1",
            "lease_token": "lease-1",
            "variables": {"name": "Ann"},
            "media": {"kind": "stream", "carrier": "twilio"},
        }
        assert client.post("/attach", json=body).status_code == 202
        deadline = time.monotonic() + 5
        while configs.reads == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert configs.reads == 1
        with client.websocket_connect("/media/twilio") as ws:
            call = CarrierOnSocket(ws, TwilioCarrier(PARAMETERS))
            call.answer()
            assert call.carrier.prompts["greeting-1"] == ToneSynth().tones("Hi Ann, Acme here.")
            call.send(call.carrier.stop())
            assert call.closed().detail == "call ended: hung_up"
        assert wait_idle(client)
    assert configs.reads == 1
