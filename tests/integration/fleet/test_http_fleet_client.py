"""`HttpFleetClient` against a scripted transport: next host on 429, 503 or no connection."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from voxcore_adapters.fleet.http import AttachRefused, HttpFleetClient
from voxcore_adapters.livekit.room_media import LiveKitRoomMedia
from voxcore_adapters.livekit.settings import LiveKitSettings
from voxcore_domain.errors import ValidationError
from voxcore_domain.ports import AttachRequest

REQUEST = AttachRequest(
    call_id="call-1",
    tenant_id="t1",
    campaign_id="c1",
    agent_id="a1",
    lease_token="tok",
    room="call-call-1",
    variables={"name": "Ada"},
)
HOSTS = {"h1": "http://h1:8081", "h2": "http://h2:8081", "h3": "http://h3:8081/"}


def client(answers: dict[str, int | None], seen: list[str]) -> HttpFleetClient:
    """`answers`: host → status, or None for a refused connection."""

    def handle(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        seen.append(f"{host}{request.url.path}")
        status = answers[host]
        if status is None:
            raise httpx.ConnectError("refused", request=request)
        headers = {"retry-after": "2"} if status == 429 else {}
        return httpx.Response(status, json={"detail": "x"}, headers=headers)

    transport = httpx.MockTransport(handle)
    return HttpFleetClient(HOSTS, httpx.AsyncClient(transport=transport), "twilio")


async def test_the_next_host_on_full_draining_or_unreachable() -> None:
    seen: list[str] = []
    fleet = client({"h1": 429, "h2": None, "h3": 202}, seen)

    result = await fleet.attach(REQUEST, ["h1", "h2", "h3"])

    assert result.accepted
    assert result.host == "h3"
    assert seen == ["h1/attach", "h2/attach", "h3/attach"]


async def test_every_host_refusing_is_not_accepted() -> None:
    seen: list[str] = []
    fleet = client({"h1": 503, "h2": 429}, seen)

    result = await fleet.attach(REQUEST, ["h1", "unknown", "h2"])

    assert not result.accepted
    assert result.host is None
    assert result.retry_after_s == 2.0
    assert seen == ["h1/attach", "h2/attach"]


async def test_a_refusal_about_the_call_itself_is_raised() -> None:
    fleet = client({"h1": 422, "h2": 202}, [])

    with pytest.raises(AttachRefused) as refused:
        await fleet.attach(REQUEST, ["h1", "h2"])

    assert refused.value.status == 422


async def test_the_body_is_the_fleets_attach_body() -> None:
    bodies: list[dict[str, object]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(202, json={})

    fleet = HttpFleetClient(
        HOSTS, httpx.AsyncClient(transport=httpx.MockTransport(handle)), "twilio"
    )
    await fleet.attach(REQUEST, ["h1"])

    assert bodies == [
        {
            "call_id": "call-1",
            "tenant_id": "t1",
            "campaign_id": "c1",
            "agent_id": "a1",
            "lease_token": "tok",
            "media": {"kind": "stream", "carrier": "twilio"},
            "variables": {"name": "Ada"},
        }
    ]


async def test_a_worker_on_its_own_unix_socket(tmp_path: Path) -> None:
    seen: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n"))
        body = b'{"call_id": "call-1"}'
        writer.write(
            b"HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        writer.close()

    path = tmp_path / "w1.sock"
    server = await asyncio.start_unix_server(answer, path=str(path))
    shared = httpx.AsyncClient()
    fleet = HttpFleetClient({"w1": f"unix:{path}", "h2": "http://h2:8081"}, shared, "twilio")
    try:
        result = await fleet.attach(REQUEST, ["w1"])
    finally:
        await shared.aclose()
        server.close()
        await server.wait_closed()

    assert (result.accepted, result.host) == (True, "w1")
    assert seen == [b"POST /attach HTTP/1.1\r\n"]


async def test_a_livekit_call_goes_as_its_room_with_one_token_for_every_host() -> None:
    bodies: list[dict[str, Any]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(429 if request.url.host == "h1" else 202, json={})

    secret = "a-secret-long-enough-for-hs256-signing"
    media = LiveKitRoomMedia(LiveKitSettings("https://lk.example.com", "APIkey", secret))
    fleet = HttpFleetClient(HOSTS, httpx.AsyncClient(transport=httpx.MockTransport(handle)), media)
    assert (await fleet.attach(REQUEST, ["h1", "h2"])).host == "h2"

    first, second = bodies
    assert first == second
    assert {k: v for k, v in first.items() if k != "media"} == {
        "call_id": "call-1",
        "tenant_id": "t1",
        "campaign_id": "c1",
        "agent_id": "a1",
        "lease_token": "tok",
        "variables": {"name": "Ada"},
    }
    room = first["media"]
    assert {k: v for k, v in room.items() if k != "token"} == {
        "kind": "livekit",
        "room": "call-call-1",
        "caller_identity": "sip-call-1",
    }
    claims = jwt.decode(room["token"], secret, algorithms=["HS256"], issuer="APIkey")
    assert (claims["sub"], claims["video"]["room"]) == ("agent-call-1", "call-call-1")


def test_a_room_token_lasts_at_most_a_day() -> None:
    secret = "a-secret-long-enough-for-hs256-signing"
    settings = LiveKitSettings("https://lk.example.com", "APIkey", secret)
    with pytest.raises(ValidationError) as refused:
        LiveKitRoomMedia(settings, token_ttl=timedelta(days=2))
    assert refused.value.field == "token_ttl"
    short = LiveKitRoomMedia(settings, token_ttl=timedelta(minutes=5)).describe(REQUEST)
    claims = jwt.decode(str(short["token"]), secret, algorithms=["HS256"], issuer="APIkey")
    assert claims["exp"] - claims["nbf"] == 300
