"""How a worker joins a call's LiveKit room, without loading the RTC SDK: the joiner's
signature, its failure, and `join_room`, which imports `voxcore_adapters.livekit.room_leg` (and
`livekit.rtc` with numpy under it, about 10 MB of a worker's memory) on its first call.

A worker loads it when its first room call begins (`load_rtc`, in a thread, while the phone
rings or the room is set up), so a worker that takes only carrier streams never does.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol

from voxcore_domain.errors import DomainError

if TYPE_CHECKING:
    from voxcore_adapters.livekit.room_leg import EndCall, RoomLeg, Transfer

ROOM_LEG = "voxcore_adapters.livekit.room_leg"


class RoomJoinFailed(DomainError):
    """The worker could not join the call's room, or the caller never came into it."""


class RoomJoiner(Protocol):
    """`join_room`'s signature: how a worker gets a `RoomLeg` for a call's room."""

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
    ) -> RoomLeg: ...


def load_rtc() -> None:
    """Import the RTC SDK now rather than at the first room call."""
    importlib.import_module(ROOM_LEG)


async def join_room(
    url: str,
    token: str,
    *,
    caller: str | None,
    caller_wait_s: float,
    connect_timeout_s: float = 10.0,
    end_call: EndCall | None = None,
    transfer: Transfer | None = None,
) -> RoomLeg:
    """`voxcore_adapters.livekit.room_leg.join_room`, imported on first use."""
    from voxcore_adapters.livekit.room_leg import join_room as join

    return await join(
        url,
        token,
        caller=caller,
        caller_wait_s=caller_wait_s,
        connect_timeout_s=connect_timeout_s,
        end_call=end_call,
        transfer=transfer,
    )
