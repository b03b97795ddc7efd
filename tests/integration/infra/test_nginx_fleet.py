"""The fleet host's nginx, rendered for 4 workers, in front of 4 real workers: one call per
socket, 429 → next socket, a full fleet as a JSON 503, WebSockets through, a killed worker
routed around."""

from __future__ import annotations

import asyncio
import re
import shutil
import time

import aiohttp
import httpx
import pytest

from tests.integration.infra.conftest import WORKERS, FleetHost
from tests.integration.infra.support import (
    Nginx,
    attach_body,
    greeted_stream,
    hang_up,
    json_body,
    self_signed,
    shared_dir,
    wait_idle,
)

pytestmark = pytest.mark.integration


async def test_concurrent_attaches_fill_each_socket_once_and_the_rest_get_json_refusals(
    fleet_host: FleetHost,
) -> None:
    wait_idle(fleet_host.workers)
    async with httpx.AsyncClient(base_url=fleet_host.nginx.url, timeout=10) as client:
        answers = await asyncio.gather(
            *(client.post("/attach", json=attach_body(f"burst-{i}")) for i in range(12))
        )
    accepted = [a for a in answers if a.status_code == 202]
    refused = [a for a in answers if a.status_code != 202]
    assert sorted(a.json()["worker"] for a in accepted) == ["1", "2", "3", "4"]
    assert len(refused) == 12 - WORKERS
    for answer in refused:
        assert answer.status_code in (429, 503), answer.text
        assert answer.headers["content-type"].startswith("application/json"), answer.headers
        assert answer.headers["Retry-After"] == "1"
        assert json_body(answer.text)["error"] in ("busy", "fleet_full"), answer.text


async def test_attaches_retry_past_busy_workers_and_a_full_fleet_says_so(
    fleet_host: FleetHost,
) -> None:
    wait_idle(fleet_host.workers)
    for number in (1, 2, 3):
        assert fleet_host.worker(number).attach_directly(f"direct-{number}") == 202
    async with httpx.AsyncClient(base_url=fleet_host.nginx.url, timeout=10) as client:
        taken = await client.post("/attach", json=attach_body("seq-1"))
        assert taken.status_code == 202, taken.text
        assert taken.json()["worker"] == "4"
        # Every slot is taken now, though no socket holds a connection: nginx tries each socket
        # once (bounded by proxy_next_upstream_tries) and passes the last 429 on.
        full = await client.post("/attach", json=attach_body("seq-2"))
    assert full.status_code == 429, full.text
    assert full.json()["error"] == "busy"
    assert full.headers["Retry-After"] == "1"
    # nginx writes the line as it finalizes the request, a moment after the answer.
    deadline = time.monotonic() + 5
    while not any('"429, 429, 429, 429"' in line for line in fleet_host.nginx.access_log()):
        assert time.monotonic() < deadline, fleet_host.nginx.access_log()
        await asyncio.sleep(0.05)


async def test_sequential_attaches_while_some_workers_are_busy_never_see_a_5xx(
    fleet_host: FleetHost,
) -> None:
    wait_idle(fleet_host.workers)
    assert fleet_host.worker(2).attach_directly("direct-2") == 202
    assert fleet_host.worker(3).attach_directly("direct-3") == 202
    async with httpx.AsyncClient(base_url=fleet_host.nginx.url, timeout=10) as client:
        first = await client.post("/attach", json=attach_body("seq-a"))
        second = await client.post("/attach", json=attach_body("seq-b"))
    assert (first.status_code, second.status_code) == (202, 202), (first.text, second.text)
    assert {first.json()["worker"], second.json()["worker"]} == {"1", "4"}


async def test_a_media_stream_reaches_the_worker_its_call_was_attached_to(
    fleet_host: FleetHost,
) -> None:
    wait_idle(fleet_host.workers)
    async with httpx.AsyncClient(base_url=fleet_host.nginx.url, timeout=10) as client:
        attached = await client.post("/attach", json=attach_body("ws-1"))
    assert attached.status_code == 202, attached.text
    worker = attached.json()["worker"]
    path = f"/w/{worker}{attached.json()['media_path']}"
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(fleet_host.nginx.url + path) as ws,
    ):
        carrier = await greeted_stream(ws, "ws-1")
        slot = fleet_host.worker(int(worker)).health()["slot"]
        assert (slot["state"], slot["call_id"]) == ("busy", "ws-1")
        assert await hang_up(ws, carrier) == (1000, "call ended: hung_up")
    assert carrier.prompts["greeting-1"], "the agent's greeting audio came through nginx"


async def test_a_carrier_stream_with_no_attach_takes_a_free_worker(fleet_host: FleetHost) -> None:
    wait_idle(fleet_host.workers)
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(fleet_host.nginx.url + "/media/twilio") as ws,
    ):
        carrier = await greeted_stream(ws, "ws-direct")
        busy = [
            w.number for w in fleet_host.workers if w.health()["slot"]["call_id"] == "ws-direct"
        ]
        assert len(busy) == 1
        assert await hang_up(ws, carrier) == (1000, "call ended: hung_up")


LIVEKIT_BODIES = {
    "/livekit/dialout": {
        "phone": "+14155550123",
        "trunk_id": "ST_vox",
        "agent_id": "agent-1",
        "tenant_id": "tenant-1",
    },
    "/livekit/widget": {"agent_id": "agent-1", "tenant_id": "tenant-1"},
}


@pytest.mark.parametrize("path", sorted(LIVEKIT_BODIES))
async def test_livekit_routes_get_the_workers_own_answers_through_nginx(
    fleet_host: FleetHost, path: str
) -> None:
    """The seed's "dialout returns 422" came from a hard-coded `Connection: upgrade`: the body
    never reached the app. Through the template a POST's body arrives whole, so the answers are
    the worker's own: 400 naming the field for a bad body, and 503 `livekit_not_configured`
    for a good one (these workers have no LiveKit server), with the slot left free."""
    wait_idle(fleet_host.workers)
    valid = LIVEKIT_BODIES[path]
    async with httpx.AsyncClient(base_url=fleet_host.nginx.url, timeout=10) as client:
        unknown = await client.post(path, json={**valid, "unexpected": True})
        missing = await client.post(path, json={k: v for k, v in valid.items() if k != "agent_id"})
        unconfigured = await client.post(path, json=valid)
    for answer, field in ((unknown, "unexpected"), (missing, "agent_id")):
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"].startswith("application/json"), answer.headers
        error = json_body(answer.text)
        assert (error["error"], error["field"]) == ("bad_request", field), error
    assert unconfigured.status_code == 503, unconfigured.text
    error = json_body(unconfigured.text)
    assert error["error"] == "livekit_not_configured", error
    assert "VOX_FLEET_LIVEKIT_URL" in error["message"], error
    # Refused before any claim: every slot is free at once, not after a timeout.
    assert [w.health()["slot"]["state"] for w in fleet_host.workers] == ["idle"] * WORKERS


async def test_a_bad_attach_through_nginx_names_the_field(fleet_host: FleetHost) -> None:
    wait_idle(fleet_host.workers)
    async with httpx.AsyncClient(base_url=fleet_host.nginx.url, timeout=10) as client:
        answer = await client.post("/attach", json={"call_id": "post-1", "unexpected": True})
    assert answer.status_code == 400, answer.text
    error = json_body(answer.text)
    assert (error["error"], error["field"]) == ("bad_request", "unexpected"), error


async def test_health_and_console_and_per_worker_paths(fleet_host: FleetHost) -> None:
    wait_idle(fleet_host.workers)
    async with httpx.AsyncClient(base_url=fleet_host.nginx.url, timeout=10) as client:
        health = await client.get("/health")
        assert health.status_code == 200
        assert health.json()["host"] == "host-a"
        for number in range(1, WORKERS + 1):
            one = await client.get(f"/w/{number}/health")
            assert one.json()["worker"] == str(number)
        console = await client.get("/")
        assert console.status_code == 200
        assert "VoxBridge Console" in console.text
        deep_link = await client.get("/campaigns/42")
        assert "VoxBridge Console" in deep_link.text


async def test_a_killed_worker_is_routed_around_and_serves_again_once_restarted(
    fleet_host: FleetHost,
) -> None:
    wait_idle(fleet_host.workers)
    victim = fleet_host.worker(2)
    victim.kill()
    assert victim.socket.exists(), "kill -9 leaves the socket file behind"
    try:
        async with httpx.AsyncClient(base_url=fleet_host.nginx.url, timeout=10) as client:
            answers = [
                await client.post("/attach", json=attach_body(f"kill-{i}")) for i in range(3)
            ]
            assert [a.status_code for a in answers] == [202, 202, 202], [a.text for a in answers]
            assert sorted(a.json()["worker"] for a in answers) == ["1", "3", "4"]
            # The three live workers are busy and the dead one refuses connections: a clear
            # JSON 503, not nginx's HTML 502.
            broken = await client.post("/attach", json=attach_body("kill-4"))
            assert broken.status_code in (429, 503), broken.text
            assert broken.headers["content-type"].startswith("application/json")
            dead = await client.get("/w/2/health")
            assert dead.status_code == 503
            assert dead.json()["error"] == "fleet_unavailable"
    finally:
        victim.start()
    wait_idle(fleet_host.workers)
    async with httpx.AsyncClient(base_url=fleet_host.nginx.url, timeout=10) as client:
        assert (await client.get("/w/2/health")).status_code == 200
        for number in (1, 3, 4):
            assert fleet_host.worker(number).attach_directly(f"after-{number}") == 202
        revived = await client.post("/attach", json=attach_body("after-2"))
    assert revived.status_code == 202, revived.text
    assert revived.json()["worker"] == "2"


def test_the_rendered_config_passes_nginx_t_and_never_hard_codes_connection_upgrade(
    fleet_host: FleetHost,
) -> None:
    site = fleet_host.home / "voxcore-fleet.conf"
    text = site.read_text()
    directives = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert not re.search(r"Connection\s+\"?upgrade", directives, re.IGNORECASE)
    assert "proxy_set_header Connection $connection_upgrade;" in text
    assert text.count("max_conns=1 max_fails=0;") == WORKERS
    # Health checks have their own upstream with no max_conns.
    assert text.count(".sock max_fails=0;") == WORKERS
    assert "zone voxcore_fleet" in text
    assert "least_conn;" in text
    assert "proxy_next_upstream error http_429 non_idempotent;" in text
    prefix = shared_dir("vox-nginx-t-")
    try:
        checked = Nginx(site).check(prefix)
    finally:
        shutil.rmtree(prefix)
    assert "test is successful" in checked


async def test_with_a_certificate_nginx_terminates_tls_itself() -> None:
    home = shared_dir("vox-nginx-tls-")
    try:
        cert, key = self_signed(home)
        (home / "console").mkdir()
        (home / "console").chmod(0o755)
        site = home / "voxcore-fleet.conf"
        nginx = Nginx(site).render(
            1,
            str(home / "voxcore_%i.sock"),
            home / "console",
            options=("--tls-cert", str(cert), "--tls-key", str(key)),
        )
        nginx.start()
        try:
            # A throwaway self-signed certificate: the point is that nginx speaks TLS.
            async with httpx.AsyncClient(verify=False, timeout=10) as client:
                answer = await client.get(f"https://127.0.0.1:{nginx.port}/w/1/health")
        finally:
            nginx.stop()
        # No worker runs behind the socket: the template's own JSON answer, over TLS.
        assert answer.status_code == 503
        assert answer.json()["error"] == "fleet_unavailable"
        assert answer.headers["Retry-After"] == "1"
    finally:
        shutil.rmtree(home)
