"""What a simulation measured: ground truth, not the pacer's estimates."""

from __future__ import annotations

from collections.abc import Mapping

import attrs


@attrs.frozen
class Figures:
    """Totals for a run or one campaign of it.

    The regulators' count: a call dropped before any worker took it cannot be told from a
    person, so it counts as a live answer abandoned; a machine that reached a worker (which then
    left a voicemail) is not a live answer.
    """

    occupancy: float
    """Busy slot-seconds / available slot-seconds (a campaign's: its share of the busy time)."""
    abandon_rate: float
    """abandoned / live_answers."""
    dials: int
    live_answers: int
    abandoned: int
    max_hourly_abandon_rate: float
    """The worst clock hour of the run (hours with at least one live answer)."""
    machine_answers: int = 0
    """Machine answers that reached a worker."""


@attrs.frozen
class Minute:
    """One minute of the run, for plotting."""

    minute: int
    slots: int
    """Live slots at the end of the minute."""
    busy: float
    """Mean slots busy over the minute."""
    occupancy: float
    dials: int
    live_answers: int
    abandoned: int


@attrs.frozen
class SimulationReport:
    strategy: str
    occupancy: float
    abandon_rate: float
    dials: int
    live_answers: int
    abandoned: int
    max_hourly_abandon_rate: float
    per_campaign: Mapping[str, Figures]
    timeline: tuple[Minute, ...]
    machine_answers: int = 0
