"""`with server as handle:` for the test servers: started on entering, stopped on leaving."""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Generic, Self, TypeVar

T = TypeVar("T")


class StartStop(abc.ABC, Generic[T]):
    """A test server that is also its own context manager; the block gets what `start`
    returns (the server itself, or how to connect to it)."""

    @abc.abstractmethod
    def start(self) -> T: ...

    @abc.abstractmethod
    def stop(self) -> None: ...

    def __enter__(self) -> T:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class AllOrNothing(abc.ABC):
    """Several servers started as one: `with` starts them all (`_start`) and stops them all
    (`stop`); a failure part-way stops the ones already started before it propagates, so no
    process outlives a failed start. `stop` must cope with whatever `_start` got to."""

    @abc.abstractmethod
    def _start(self) -> None: ...

    @abc.abstractmethod
    def stop(self) -> None: ...

    def __enter__(self) -> Self:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
