"""Runtime config at call start, from the real API app (`apps.api.main:create_app` on its
memory backend, served by Granian on loopback): read with the internal token, cached for the
TTL, the last known config while the API is down, and a clean `failed` call (reported, slot
freed) when there is none. The worker's reports go to the in-memory fake here
(`test_call_reports.py` covers the HTTP side)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import attrs
import httpx
import pytest
from litestar.testing import TestClient

from apps.fleet.configs import ConfigBook, NoConfig
from apps.fleet.settings import Settings
from tests.fleet.support import PARAMETERS, CarrierOnSocket, wait_idle, worker_app
from voxcore_adapters.fakes.fleet_api import InMemoryAgentConfigs, InMemoryReportSender
from voxcore_adapters.fakes.redis_fakes import ManualClock
from voxcore_adapters.internal_api import ApiConnection, HttpAgentConfigs
from voxcore_adapters.testing.asgi_server import served, url
from voxcore_adapters.testing.carrier import TwilioCarrier
from voxcore_adapters.testing.process import ServerProcess
from voxcore_adapters.voice.tones import ToneSynth
from voxcore_domain.model import Disposition
from voxcore_domain.ports import AgentConfigNotFound, AgentConfigs, ConfigUnavailable
from voxcore_domain.voice.report import ReportKind

ADMIN_KEY = "admin-" + "a" * 40
TOKEN = "internal-" + "i" * 40
AGENT = {
    "name": "Reminders",
    "greeting": "Hello {name}, Acme Dental calling about your visit.",
    "prompts": {"reply_1": "Shall we keep your booking?", "closing": "See you soon. Bye."},
}


@attrs.frozen
class Api:
    server: ServerProcess
    tenant_id: str
    agent_id: str
    tenant_token: str = attrs.field(repr=False)

    @property
    def url(self) -> str:
        return url(self.server)


def start_api() -> Api:
    server = served(
        "api",
        "apps.api.main:create_app",
        {
            "VOX_API_BACKEND": "memory",
            "VOX_API_ADMIN_KEY": ADMIN_KEY,
            "VOX_API_INTERNAL_TOKEN": TOKEN,
        },
    ).start()
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with httpx.Client(base_url=url(server)) as client:
        tenant = client.post("/v1/tenants", json={"name": "Acme"}, headers=admin)
        assert tenant.status_code == 201, tenant.text
        tenant_id = tenant.json()["id"]
        key = client.post(f"/v1/tenants/{tenant_id}/api-keys", json={"name": "t"}, headers=admin)
        assert key.status_code == 201, key.text
        token = key.json()["token"]
        agent = client.post("/v1/agents", json=AGENT, headers={"Authorization": f"Bearer {token}"})
        assert agent.status_code == 201, agent.text
    return Api(server, tenant_id, agent.json()["id"], token)


@pytest.fixture
def api() -> Iterator[Api]:
    started = start_api()
    yield started
    started.server.stop()


@pytest.fixture
async def connection(api: Api) -> AsyncIterator[ApiConnection]:
    connection = ApiConnection(api.url, TOKEN, timeout_s=2)
    yield connection
    await connection.aclose()


async def test_the_agents_config_comes_from_the_api(api: Api, connection: ApiConnection) -> None:
    config = await HttpAgentConfigs(connection).get(api.agent_id)
    assert (config.agent_id, config.tenant_id, config.version) == (api.agent_id, api.tenant_id, 1)
    script = config.script()
    assert script.greeting == AGENT["greeting"]
    assert script.replies == ("Shall we keep your booking?",)
    assert script.closing == "See you soon. Bye."
    with pytest.raises(AgentConfigNotFound):
        await HttpAgentConfigs(connection).get("agent-nobody-knows")
    wrong = ApiConnection(api.url, "internal-" + "x" * 40)
    with pytest.raises(ConfigUnavailable, match="401"):
        await HttpAgentConfigs(wrong).get(api.agent_id)
    await wrong.aclose()


@pytest.mark.parametrize("backend", ["memory", "http"])
async def test_the_agent_configs_contract(
    backend: str, api: Api, connection: ApiConnection
) -> None:
    """`AgentConfigs`: the in-memory fake holds what the API serves, and both answer alike."""
    served = await HttpAgentConfigs(connection).get(api.agent_id)
    configs: AgentConfigs = (
        InMemoryAgentConfigs([served]) if backend == "memory" else HttpAgentConfigs(connection)
    )
    assert await configs.get(api.agent_id) == served
    with pytest.raises(AgentConfigNotFound) as missing:
        await configs.get("agent-nobody-knows")
    assert missing.value.agent_id == "agent-nobody-knows"


async def test_a_config_is_cached_for_its_ttl_then_the_last_known_serves_while_the_api_is_down(
    api: Api, connection: ApiConnection, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock()
    book = ConfigBook(HttpAgentConfigs(connection), clock, ttl_s=30)
    assert (await book.get(api.agent_id)).version == 1
    # An edit reaches the worker once its cached copy is older than the TTL.
    tenant = {"Authorization": f"Bearer {api.tenant_token}"}
    async with httpx.AsyncClient(base_url=api.url) as client:
        edit = await client.patch(
            f"/v1/agents/{api.agent_id}", json={"greeting": "Hi again."}, headers=tenant
        )
        assert edit.status_code == 200, edit.text
    clock.advance(timedelta(seconds=29))
    assert (await book.get(api.agent_id)).version == 1
    clock.advance(timedelta(seconds=2))
    fresh = await book.get(api.agent_id)
    assert (fresh.version, fresh.greeting) == (2, "Hi again.")

    api.server.stop()
    clock.advance(timedelta(minutes=10))
    with caplog.at_level(logging.WARNING):
        assert await book.get(api.agent_id) == fresh
    assert "unavailable" in caplog.text
    # A worker that never read it has nothing to run the call with.
    with pytest.raises(NoConfig, match="no runtime config"):
        await ConfigBook(HttpAgentConfigs(connection), clock, ttl_s=30).get(api.agent_id)


def call_parameters(api: Api, call_id: str, agent_id: str | None = None) -> dict[str, str]:
    return {
        **PARAMETERS,
        "call_id": call_id,
        "tenant_id": api.tenant_id,
        "agent_id": agent_id or api.agent_id,
    }


def test_a_call_runs_on_its_agents_script_and_is_reported(api: Api, settings: Settings) -> None:
    reports = InMemoryReportSender()
    configs = HttpAgentConfigs(ApiConnection(api.url, TOKEN))
    app = worker_app(settings, reports=reports, configs=configs)
    with TestClient(app) as client, client.websocket_connect("/media/twilio") as ws:
        call = CarrierOnSocket(ws, TwilioCarrier(call_parameters(api, "call-cfg")))
        call.answer()
        greeting = "Hello Ann, Acme Dental calling about your visit."
        assert call.carrier.prompts["greeting-1"] == ToneSynth().tones(greeting)
        call.listen()
        call.reply()
        assert call.carrier.marks[-1] == "reply-2"
        assert call.carrier.prompts["reply-2"] == ToneSynth().tones("Shall we keep your booking?")
        call.listen()
        call.reply()
        assert call.carrier.prompts["closing-3"] == ToneSynth().tones("See you soon. Bye.")
        call.listen()
        close = call.closed()
        assert (close.code, close.detail) == (1000, "call ended: completed")
        assert wait_idle(client)
    attached, ended = _reports_of(reports, "call-cfg")
    assert (attached.kind, attached.sequence, attached.worker) == (
        ReportKind.ATTACHED,
        1,
        "fleet-test/7",
    )
    assert (ended.kind, ended.sequence, ended.disposition) == (
        ReportKind.ENDED,
        2,
        Disposition.COMPLETED,
    )
    assert ended.detail["recording_key"] == f"{api.tenant_id}/call-cfg/call.wav"
    kinds = [step["kind"] for step in ended.detail["transcript"]]
    assert kinds.count("prompt") == 3


@pytest.mark.parametrize("api_down", [False, True], ids=["unknown-agent", "api-down"])
def test_a_call_without_a_config_fails_cleanly_and_is_reported(
    api: Api, settings: Settings, api_down: bool
) -> None:
    reports = InMemoryReportSender()
    configs = HttpAgentConfigs(ApiConnection(api.url, TOKEN, timeout_s=1))
    if api_down:
        api.server.stop()
    agent_id = api.agent_id if api_down else "agent-gone"
    app = worker_app(settings, reports=reports, configs=configs)
    with TestClient(app) as client, client.websocket_connect("/media/twilio") as ws:
        call = CarrierOnSocket(ws, TwilioCarrier(call_parameters(api, "call-x", agent_id)))
        call.send(call.carrier.opening())
        close = call.closed()
        assert (close.code, close.detail) == (1000, "call ended: failed")
        assert wait_idle(client)
        assert 'vox_fleet_calls_total{disposition="failed"} 1.0' in client.get("/metrics").text
    _, ended = _reports_of(reports, "call-x")
    assert ended.disposition is Disposition.FAILED
    expected = "no runtime config" if api_down else "the API has no agent agent-gone"
    assert expected in ended.detail["reason"]
    assert "recording_key" not in ended.detail


def _reports_of(reports: InMemoryReportSender, call_id: str) -> list[Any]:
    """The call's reports once both arrived (the outbox sends them in the background)."""
    found = reports.of_call(call_id)
    assert [r.sequence for r in found] == [1, 2], found
    return found
