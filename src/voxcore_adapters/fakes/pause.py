"""`PauseSwitch` in memory."""

from __future__ import annotations

from voxcore_domain.errors import ValidationError


class InMemoryPauseSwitch:
    def __init__(self, paused: bool = False) -> None:
        self._paused = paused

    async def paused(self) -> bool:
        return self._paused

    async def set_paused(self, paused: bool) -> None:
        if not isinstance(paused, bool):
            raise ValidationError("paused", f"must be true or false, got {paused!r}")
        self._paused = paused
