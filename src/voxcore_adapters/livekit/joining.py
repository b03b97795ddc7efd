"""How a worker joins a call's LiveKit room, without loading the RTC SDK: the joiner's
signature, what it hands back, its failure, and `join_room`, which joins the room in a room
process of the call's own (`voxcore_adapters.livekit.room_child`); and `CallerControls`, what
both room legs do alike on the caller's side.

The RTC SDK (`livekit.rtc`, numpy under it, its native runtime: about 45 MB that no worker
could give back once loaded) is imported only by that child (`room_process`), which exits with
the call; the worker never imports it.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from voxcore_domain.errors import DomainError
from voxcore_domain.ports import TransferResult, TransferringLeg
from voxcore_domain.voice.call import Hangup, LegEvent

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


class CallerControls(ABC):
    """The caller's side of a room leg, the same whether the room is joined in the worker
    (`room_leg.RoomLeg`) or in a room process (`room_child.ChildRoomLeg`): the call's events
    and its end, transfer, hang-up and close. A leg supplies `_leave` (its transport's way out
    of the room) and may extend `_end` (e.g. to stop speaking)."""

    def __init__(self, *, end_call: EndCall | None, transfer: Transfer | None) -> None:
        self._end_call = end_call
        self._transfer = transfer
        self._events: asyncio.Queue[LegEvent] = asyncio.Queue()
        self._ended: str | None = None
        """Why the call ended, once it has."""
        self._hung_up = False
        self._transferred = False
        self._room_ended = False

    @property
    def ended(self) -> bool:
        return self._ended is not None

    @property
    def can_transfer(self) -> bool:
        return self._transfer is not None

    async def receive(self) -> LegEvent:
        if self._ended is not None and self._events.empty():
            return Hangup(self._ended)
        return await self._events.get()

    async def hang_up(self) -> None:
        if self._hung_up:
            return
        self._hung_up = True
        self._end("the agent hung up")
        await self._leave()
        await self._end_room()

    async def transfer(self, to: str) -> TransferResult:
        """Hand the caller to `to`; the caller leaves the room when it completes."""
        if self._transfer is None:
            raise RoomJoinFailed("this room's caller cannot be transferred")
        result = await self._transfer(to)
        if result.completed:
            self._transferred = True
            self._end("the caller was transferred")
        return result

    async def close(self) -> None:
        """Stop speaking and leave the room, whatever state the call is in."""
        self._end("the call is over")
        await self._leave()

    @abstractmethod
    async def _leave(self) -> None:
        """Leave the room (once, however often called) and wait until the leg has."""

    async def _end_room(self) -> None:
        """End the call for everyone, once. After a transfer the phone leg has left for its
        new party, so ending the room would not touch it; a browser has no phone leg to end."""
        if self._end_call is None or self._transferred or self._room_ended:
            return
        self._room_ended = True
        await self._end_call()

    def _end(self, reason: str) -> None:
        if self._ended is None:
            self._ended = reason
            self._events.put_nowait(Hangup(reason))


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
