"""How a worker joins a call's LiveKit room, without loading the RTC SDK: the joiner's
signature, what it hands back, its failure, and `join_room`, which joins the room in a room
process of the call's own (`voxcore_adapters.livekit.room_child`).

The RTC SDK (`livekit.rtc`, numpy under it, its native runtime: about 45 MB that no worker
could give back once loaded) is imported only by that child (`room_process`), which exits with
the call; the worker never imports it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from voxcore_domain.errors import DomainError
from voxcore_domain.ports import TransferResult, TransferringLeg

if TYPE_CHECKING:
    from voxcore_adapters.livekit.room_child import ChildRoomLeg

EndCall = Callable[[], Awaitable[None]]
"""Ends the call for everyone (deletes the room): leaving alone would keep the phone leg up."""
Transfer = Callable[[str], Awaitable[TransferResult]]
"""Hands the caller's phone leg to another number."""


class RoomJoinFailed(DomainError):
    """The worker could not join the call's room, or the caller never came into it."""


class RoomCall(TransferringLeg, Protocol):
    """A joined room's leg, as the worker runs a call on it."""

    async def close(self) -> None:
        """Stop speaking and leave the room, whatever state the call is in."""
        ...


class RoomJoiner(Protocol):
    """`join_room`'s signature: how a worker gets the leg of a call's room."""

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
    ) -> RoomCall: ...


async def join_room(
    url: str,
    token: str,
    *,
    caller: str | None,
    caller_wait_s: float,
    connect_timeout_s: float = 10.0,
    end_call: EndCall | None = None,
    transfer: Transfer | None = None,
) -> ChildRoomLeg:
    """Join the room `token` grants in a room process (`room_child.join_in_child`), publish
    the agent's voice and wait up to `caller_wait_s` for the caller; `RoomJoinFailed` if that
    fails."""
    from voxcore_adapters.livekit.room_child import join_in_child

    return await join_in_child(
        url,
        token,
        caller=caller,
        caller_wait_s=caller_wait_s,
        connect_timeout_s=connect_timeout_s,
        end_call=end_call,
        transfer=transfer,
    )
