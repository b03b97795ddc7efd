"""Outbound calls, transfers and rooms on a LiveKit server: `LiveKitTelephony`, the
`CallControl` the dialler and fleet workers use.

The work is done by `voxcore_adapters.livekit.client` over the official `livekit-api` client
(the table of how a dial's failures are judged is there). That client brings aiohttp, protobuf
and LiveKit's protocol messages, about 15 MB of a fleet worker's memory, so it is imported at
the first request, not with this module: a worker configured for LiveKit carries it only once
it takes a LiveKit call. The first request pays the import (reported by `make bench-fleet`).
"""

from __future__ import annotations

from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING

from voxcore_adapters.livekit.settings import LiveKitSettings
from voxcore_domain.ports import Clock, DialRequest, DialResult, TransferResult

if TYPE_CHECKING:
    import aiohttp

    from voxcore_adapters.livekit.client import LiveKitClient

CALL_ID_ATTRIBUTE = "vox.call_id"
"""Participant attribute carrying our call id, so webhooks can be matched to the dial."""


class LiveKitTelephony:
    """`CallControl` over a LiveKit server; use as `async with`, or call `aclose()`.

    Failures that are not the callee's raise `TelephonyError`: `TrunkThrottled` to back off a
    trunk, `TelephonyRefused` for credentials, grants or configuration an operator must fix.
    """

    def __init__(
        self,
        settings: LiveKitSettings,
        *,
        clock: Clock | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        """Times a dial's answer; the system clock when None."""
        self.session = session
        """The HTTP session to LiveKit's API; one of the client's own when None."""
        self._loaded: LiveKitClient | None = None

    def _client(self) -> LiveKitClient:
        if self._loaded is None:
            from voxcore_adapters.livekit.client import LiveKitClient

            self._loaded = LiveKitClient(self)
        return self._loaded

    async def aclose(self) -> None:
        client, self._loaded = self._loaded, None
        if client is not None:
            await client.aclose()

    async def __aenter__(self) -> LiveKitTelephony:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def place_call(self, request: DialRequest) -> DialResult:
        """Dial and wait until answered or failed (at most the ring time plus a margin)."""
        return await self._client().place_call(request)

    async def create_room(self, room: str, call_id: str) -> None:
        """Create the call's room ahead of the call (a widget's, or a dial's to answer with it
        at once); an existing room is kept. `TelephonyError` if LiveKit refuses or is down."""
        await self._client().create_room(room, call_id)

    async def open_rooms(self, prefix: str) -> list[str]:
        """Names of the server's rooms starting with `prefix` (`CallRooms`)."""
        return await self._client().open_rooms(prefix)

    async def hang_up(self, call_id: str, room: str) -> None:
        """End the call by deleting its room; a room that is already gone is fine."""
        await self._client().hang_up(call_id, room)

    async def transfer(
        self, call_id: str, room: str, to: str, ring_timeout_s: float = 30.0
    ) -> TransferResult:
        """SIP REFER the call's phone leg to `to`; waits until the target answers or fails."""
        return await self._client().transfer(call_id, room, to, ring_timeout_s)

    def widget_token(
        self, room: str, identity: str, *, name: str = "", ttl: timedelta = timedelta(minutes=15)
    ) -> str:
        """A browser's token to join `room` (see `voxcore_adapters.livekit.widget_token`)."""
        return self._client().widget_token(room, identity, name=name, ttl=ttl)
