"""A `CallLeg` that records both sides of the call as it passes through."""

from __future__ import annotations

from typing import Protocol

from voxcore_domain.errors import DomainError
from voxcore_domain.ports import CallLeg, TransferResult, TransferringLeg
from voxcore_domain.voice.call import Audio, LegEvent


class Tracks(Protocol):
    """Where a call's two tracks are written: `voxcore_domain.voice.recording.Recording` in
    memory, or a file-backed recording with the same placement rules."""

    def hear(self, pcm: bytes) -> None: ...

    def say(self, pcm: bytes) -> None: ...

    def cut(self) -> None: ...


class RecordedLeg:
    """`leg`, with the caller's audio and the agent's prompts written to `recording`. It can
    transfer when `leg` can."""

    def __init__(self, leg: CallLeg, recording: Tracks) -> None:
        self._leg = leg
        self._recording = recording

    async def receive(self) -> LegEvent:
        event = await self._leg.receive()
        if isinstance(event, Audio):
            self._recording.hear(event.pcm)
        return event

    async def play(self, pcm: bytes, mark: str) -> None:
        self._recording.say(pcm)
        await self._leg.play(pcm, mark)

    async def clear(self) -> None:
        self._recording.cut()
        await self._leg.clear()

    async def hang_up(self) -> None:
        await self._leg.hang_up()

    @property
    def can_transfer(self) -> bool:
        return isinstance(self._leg, TransferringLeg) and self._leg.can_transfer

    async def transfer(self, to: str) -> TransferResult:
        if not isinstance(self._leg, TransferringLeg):
            raise DomainError("this call's leg cannot be transferred")
        return await self._leg.transfer(to)
