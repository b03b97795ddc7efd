"""Call slots: one worker holds at most one call, and the dialler paces to the fleet's free ones.

A worker moves its own slot with `claim`, `free`, `drain` and `beat` and reports it to the slot
registry; the dialler reads the registry and `summarize`s it. A slot whose heartbeat is older
than the staleness limit counts as neither free nor busy: its worker may be dead, and dialling
for it would abandon the callee.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

import attrs

from voxcore_domain.errors import InvalidTransition, ValidationError
from voxcore_domain.model import Slot, SlotState

DEFAULT_STALENESS = timedelta(seconds=10)
"""A few missed heartbeats: workers beat every 2 to 3 seconds."""


def is_stale(slot: Slot, now: datetime, staleness: timedelta = DEFAULT_STALENESS) -> bool:
    """No heartbeat from `slot` within `staleness` before `now`."""
    return now - slot.heartbeat_at > staleness


@attrs.frozen
class HostCapacity:
    """One fleet host's slots by state; the four counts add up to its slots."""

    host: str
    idle: int
    """Fresh slots ready for a call."""
    busy: int
    """Fresh slots holding a call."""
    draining: int
    """Fresh slots finishing up before shutdown; they take no new call."""
    stale: int
    """Slots of any state whose heartbeat is too old to trust."""


@attrs.frozen
class FleetCapacity:
    """The fleet as the dialler sees it this tick."""

    hosts: Mapping[str, HostCapacity]
    """Per host name, in name order."""
    busy_elapsed: tuple[float, ...]
    """Seconds each fresh busy slot has been on its call, shortest first; the pacer forecasts
    from these which slots free up within a ring time."""

    @property
    def free(self) -> int:
        """Slots that can take a call now."""
        return sum(host.idle for host in self.hosts.values())

    @property
    def busy(self) -> int:
        return sum(host.busy for host in self.hosts.values())

    @property
    def total(self) -> int:
        """Slots that take calls, free or busy; draining and stale ones do not count."""
        return self.free + self.busy

    def attach_order(self) -> list[str]:
        """Hosts to try for an answered call: most free slots first, ties by name.

        Hosts with only busy slots come last rather than not at all, since a call may have ended
        since the last heartbeat; hosts with nothing but draining or stale slots are left out,
        since trying them only spends the two seconds an answered callee waits.
        """
        taking = [host for host in self.hosts.values() if host.idle + host.busy > 0]
        return [host.host for host in sorted(taking, key=lambda host: (-host.idle, host.host))]


def summarize(
    slots: Iterable[Slot], now: datetime, staleness: timedelta = DEFAULT_STALENESS
) -> FleetCapacity:
    """Count `slots` per host and state as of `now`, stale ones apart."""
    # State None stands for stale, whatever the slot last reported.
    tally: Counter[tuple[str, SlotState | None]] = Counter()
    elapsed: list[float] = []
    for slot in slots:
        state = None if is_stale(slot, now, staleness) else slot.state
        tally[slot.host, state] += 1
        if state is SlotState.BUSY:
            # A busy report without its start counts as a call that just began: the least
            # likely to free soon, so the pacer does not over-dial on it. Clock skew likewise.
            since = slot.busy_since or now
            elapsed.append(max(0.0, (now - since).total_seconds()))
    names = sorted({host for host, _ in tally})
    return FleetCapacity(
        hosts={
            name: HostCapacity(
                name,
                idle=tally[name, SlotState.IDLE],
                busy=tally[name, SlotState.BUSY],
                draining=tally[name, SlotState.DRAINING],
                stale=tally[name, None],
            )
            for name in names
        },
        busy_elapsed=tuple(sorted(elapsed)),
    )


def claim(slot: Slot, call_id: str, now: datetime) -> Slot:
    """Take a call on an idle slot; `InvalidTransition` if it is busy or draining.

    This is the one-call-per-worker rule: the fleet answers a refused claim with 429.
    """
    if not call_id:
        raise ValidationError("call_id", "must not be empty")
    if slot.state is not SlotState.IDLE:
        raise InvalidTransition("slot", slot.state.value, SlotState.BUSY.value)
    return attrs.evolve(
        slot, state=SlotState.BUSY, call_id=call_id, busy_since=now, heartbeat_at=now
    )


def free(slot: Slot, now: datetime) -> Slot:
    """End the slot's call: busy goes idle, draining stays draining. An idle slot stays idle,
    so a call's end reported twice (hang-up and pipeline both) is harmless."""
    state = SlotState.DRAINING if slot.state is SlotState.DRAINING else SlotState.IDLE
    return attrs.evolve(slot, state=state, call_id=None, busy_since=None, heartbeat_at=now)


def drain(slot: Slot, now: datetime) -> Slot:
    """Stop taking calls ahead of a shutdown; a call in progress runs on to its end."""
    return attrs.evolve(slot, state=SlotState.DRAINING, heartbeat_at=now)


def beat(slot: Slot, now: datetime) -> Slot:
    """The same slot with a fresh heartbeat."""
    return attrs.evolve(slot, heartbeat_at=now)
