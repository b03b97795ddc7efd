"""`HttpFleetClient` against real HTTP servers: aiohttp on a loopback port and on a Unix socket
(as a fleet host's nginx is reached from the same machine), each answering as it is told."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from voxcore_adapters.fleet.http import HttpFleetClient
from voxcore_adapters.testing.process import free_port
from voxcore_domain.ports import AttachRequest

pytestmark = pytest.mark.integration

REQUEST = AttachRequest("call-9", "t1", "c1", "a1", "tok", "room-9", {"name": "Ada"})
Serve = Callable[[int, str], Awaitable[str]]


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[tuple[Serve, list[tuple[str, object]]]]:
    """Start a server answering `status` to every attach, on TCP (`where` = "tcp") or a Unix
    socket ("unix"); its base URL. Every body received is kept, with the server's name."""
    received: list[tuple[str, object]] = []
    runners: list[web.AppRunner] = []

    async def start(status: int, where: str) -> str:
        name = f"{where}-{len(runners)}"

        async def attach(request: web.Request) -> web.Response:
            received.append((name, json.loads(await request.read())))
            return web.json_response({"host": name}, status=status)

        app = web.Application()
        app.router.add_post("/attach", attach)
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
        if where == "unix":
            path = tmp_path / f"{name}.sock"
            await web.UnixSite(runner, str(path)).start()
            return f"unix:{path}"
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return f"http://127.0.0.1:{port}"

    yield start, received
    for runner in runners:
        await runner.cleanup()


async def test_a_unix_socket_host_takes_the_call_after_a_full_tcp_host(
    serve: tuple[Serve, list[tuple[str, object]]], tmp_path: Path
) -> None:
    start, received = serve
    hosts = {
        "full": await start(429, "tcp"),
        "gone": f"unix:{tmp_path / 'nobody.sock'}",
        "draining": await start(503, "unix"),
        "free": await start(202, "unix"),
    }
    async with httpx.AsyncClient(timeout=5) as client:
        fleet = HttpFleetClient(hosts, client, "twilio")
        result = await fleet.attach(REQUEST, ["full", "gone", "draining", "free"])
    assert (result.accepted, result.host) == (True, "free")
    assert [name for name, _ in received] == ["tcp-0", "unix-1", "unix-2"]
    assert received[-1][1] == {
        "call_id": "call-9",
        "tenant_id": "t1",
        "campaign_id": "c1",
        "agent_id": "a1",
        "lease_token": "tok",
        "media": {"kind": "stream", "carrier": "twilio"},
        "variables": {"name": "Ada"},
    }
