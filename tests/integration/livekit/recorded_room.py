"""A recorded room in place of the WebRTC join (`publish_voice`), which needs a LiveKit server."""

from __future__ import annotations

import asyncio

from livekit import rtc

from voxcore_adapters.livekit.room_leg import RoomJoinFailed, RoomOutput


class RecordedRoom:
    """Stands in for the WebRTC join: records the token it was given and what was said.
    `playout`, `connect` and `leave_error` make it hang or fail where a real room could."""

    def __init__(self) -> None:
        self.joins: list[tuple[str, str, float]] = []
        self.frames: list[rtc.AudioFrame] = []
        self.steps: list[str] = []
        self.connect: asyncio.Event | None = None
        self.refuse = False
        self.playout = asyncio.Event()
        self.playout.set()
        self.leave_error: Exception | None = None

    async def publish(self, url: str, token: str, *, connect_timeout_s: float = 10.0) -> RoomOutput:
        self.joins.append((url, token, connect_timeout_s))
        self.steps.append("join")
        if self.refuse:
            raise RoomJoinFailed("cannot join the LiveKit room: refused")
        if self.connect is not None:
            await self.connect.wait()
        return self

    async def capture(self, frame: rtc.AudioFrame) -> None:
        if not self.steps or self.steps[-1] != "capture":
            self.steps.append("capture")
        self.frames.append(frame)

    def clear(self) -> None:
        self.steps.append("clear")

    async def wait_for_playout(self) -> None:
        self.steps.append("playout")
        await self.playout.wait()

    async def leave(self) -> None:
        self.steps.append("leave")
        if self.leave_error is not None:
            raise self.leave_error
