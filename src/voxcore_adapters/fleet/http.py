"""`FleetClient` over HTTP: `POST /attach` to each fleet host in turn.

A host's base URL is `http(s)://…` (its nginx over TCP), or `unix:<path>` for a socket on the
same machine, which gets a connection of its own per attach.

The body's `media` says how the worker reaches the call's audio, and depends on how the call
was placed (`AttachMedia`): a carrier media stream the carrier opens to the worker
(`CarrierStream`), or the LiveKit room the call was dialled into
(`voxcore_adapters.livekit.room_media.LiveKitRoomMedia`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Protocol

import attrs
import httpx

from voxcore_domain.ports import AttachRequest, AttachResult

log = logging.getLogger(__name__)

NEXT_HOST = frozenset({429, 503})
"""A host that is full (429: every worker busy) or going away (503: draining) may be followed
by one that is not; any other refusal is about the call itself and would repeat everywhere."""


UNIX = "unix:"


class AttachRefused(Exception):
    """A fleet host refused the call for a reason another host would give too (e.g. 422)."""

    def __init__(self, host: str, status: int, body: str) -> None:
        super().__init__(f"fleet host {host} refused the attach: {status} {body[:200]}")
        self.host = host
        self.status = status


class AttachMedia(Protocol):
    """How the worker that takes a call reaches its audio."""

    def describe(self, request: AttachRequest) -> dict[str, object]:
        """The attach body's `media` for this call (the fleet's `StreamMedia` or
        `LiveKitMedia`)."""
        ...


@attrs.frozen
class CarrierStream:
    """The carrier opens a media stream to the worker (`/media/<carrier>`) once it has the
    call: the simulated carrier, a carrier's own media streams."""

    carrier: str
    """`twilio`, `exotel`, `plivo` or `telnyx`: the frames the stream speaks."""

    def describe(self, request: AttachRequest) -> dict[str, object]:
        return {"kind": "stream", "carrier": self.carrier}


class HttpFleetClient:
    """Tries hosts in the order given; the caller bounds the whole attempt with its abandon
    budget (`asyncio.timeout`), so a slow host only costs what is left of it."""

    def __init__(
        self,
        hosts: Mapping[str, str],
        client: httpx.AsyncClient,
        media: AttachMedia | str,
    ) -> None:
        """`hosts`: host name (as the slot registry reports it) → base URL. `media`: how the
        workers reach each call's audio; a carrier's name is short for `CarrierStream`."""
        self._hosts = {name: url.rstrip("/") for name, url in hosts.items()}
        self._client = client
        self._media = CarrierStream(media) if isinstance(media, str) else media

    def use_hosts(self, hosts: Mapping[str, str]) -> None:
        """From now on, these hosts (name → base URL) and no others."""
        self._hosts = {name: url.rstrip("/") for name, url in hosts.items()}

    async def attach(self, request: AttachRequest, hosts: Sequence[str]) -> AttachResult:
        retry_after: float | None = None
        # Once per call, not per host: a room's token is signed here.
        body = self._body(request)
        for host in hosts:
            base = self._hosts.get(host)
            if base is None:
                # The registry knows a host the configuration does not: nowhere to send it.
                log.warning("fleet host %s has slots but no configured URL", host)
                continue
            try:
                response = await self._post(base, body)
            except httpx.TransportError as error:
                log.warning("fleet host %s unreachable: %s", host, error)
                continue
            if response.status_code in (200, 201, 202):
                return AttachResult(accepted=True, host=host)
            if response.status_code in NEXT_HOST:
                retry_after = _retry_after(response) or retry_after
                continue
            raise AttachRefused(host, response.status_code, response.text)
        return AttachResult(accepted=False, retry_after_s=retry_after)

    async def _post(self, base: str, body: dict[str, object]) -> httpx.Response:
        if not base.startswith(UNIX):
            return await self._client.post(f"{base}/attach", json=body)
        transport = httpx.AsyncHTTPTransport(uds=base.removeprefix(UNIX))
        # The shared client's headers too: they carry the internal token.
        async with httpx.AsyncClient(
            transport=transport,
            timeout=self._client.timeout,
            headers=self._client.headers,
            base_url="http://fleet",
        ) as client:
            return await client.post("/attach", json=body)

    def _body(self, request: AttachRequest) -> dict[str, object]:
        # The fleet's `AttachBody`.
        return {
            "call_id": request.call_id,
            "tenant_id": request.tenant_id,
            "campaign_id": request.campaign_id,
            "agent_id": request.agent_id,
            "lease_token": request.lease_token,
            "media": self._media.describe(request),
            "variables": dict(request.variables),
        }


def internal_auth(token: str | None) -> dict[str, str]:
    """The headers that carry the internal token to the fleet's `/attach` (none without one);
    give them to the `httpx.AsyncClient` the `HttpFleetClient` posts with."""
    return {} if token is None else {"Authorization": f"Bearer {token}"}


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        # Retry-After may also be an HTTP date; the hint is optional, so only seconds are used.
        return None
