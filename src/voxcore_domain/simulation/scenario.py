"""What a simulation runs: the fleet, the callees and the campaigns."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from voxcore_domain import validators as v
from voxcore_domain.errors import ValidationError

Schedule = tuple[tuple[float, float], ...]
"""Steps of (hour offset from the start, value): the value holds from that hour on."""


def _schedule(_: Any, attribute: attrs.Attribute[Any], value: Schedule) -> None:
    hours = [step[0] for step in value]
    if any(len(step) != 2 for step in value) or hours != sorted(hours) or any(h < 0 for h in hours):
        raise ValidationError(
            attribute.name, "must be (hour_offset, value) steps in increasing hour order"
        )


def _campaigns(value: Iterable[CampaignSpec]) -> tuple[CampaignSpec, ...]:
    return tuple(value)


def _steps(value: Any) -> Schedule:
    return tuple((float(hour), float(v)) for hour, v in value)


@attrs.frozen
class CampaignSpec:
    """One campaign in a scenario; unset figures take the scenario's."""

    name: str
    weight: float = attrs.field(default=1.0, validator=v.at_least(1e-9))
    answer_rate: float | None = attrs.field(default=None, validator=v.optional(v.share))
    """Share of dials a person answers."""
    mean_talk_s: float | None = None
    max_concurrency: int | None = None
    """Most calls it may hold at once."""
    tenant: str = "default"
    trunk: str | None = None
    """The name of the scenario trunk it dials through; None: no trunk limits."""


@attrs.frozen
class TrunkSpec:
    """A trunk in a scenario, with its carrier's limits (as `voxcore_domain.trunks.Trunk`)."""

    name: str = attrs.field(validator=v.non_empty)
    cps: float = attrs.field(default=1.0, validator=v.positive)
    """Call set-ups a second."""
    channels: int | None = attrs.field(default=None, validator=v.optional(v.positive_int))
    """Most calls at once (ringing or talking); None for no limit."""


def _trunks(value: Iterable[TrunkSpec]) -> tuple[TrunkSpec, ...]:
    return tuple(value)


@attrs.frozen
class TenantSpec:
    """A tenant in a scenario, as `voxcore_domain.model.Tenant` weighs and caps it."""

    name: str = attrs.field(validator=v.non_empty)
    weight: float = attrs.field(default=1.0, validator=v.positive)
    """Share of the slots and dials against other tenants."""
    max_concurrency: int | None = attrs.field(default=None, validator=v.optional(v.positive_int))
    """Most calls all its campaigns hold at once; None for no cap."""


def _tenants(value: Iterable[TenantSpec]) -> tuple[TenantSpec, ...]:
    return tuple(value)


@attrs.frozen
class Scenario:
    """A fleet of call slots dialling a population of callees for some hours."""

    slots: int = attrs.field(default=100, validator=v.at_least(0))
    answer_rate: float = attrs.field(default=0.25, validator=v.share)
    """Share of dials a person answers."""
    machine_rate: float = attrs.field(default=0.0, validator=v.share)
    """Share of dials an answering machine answers."""
    ring_timeout_s: float = attrs.field(default=25.0, validator=v.at_least(1.0))
    mean_answer_delay_s: float = attrs.field(default=8.0, validator=v.at_least(0.1))
    """Mean ring time before an answer (exponential, cut at the ring timeout)."""
    mean_talk_s: float = attrs.field(default=120.0, validator=v.at_least(1.0))
    talk_cv: float = attrs.field(default=1.0, validator=v.at_least(0.0))
    """Coefficient of variation of talk time (log-normal; 0 for fixed-length calls)."""
    hours: float = attrs.field(default=8.0, validator=v.at_least(0.0))
    abandon_target: float = attrs.field(default=0.03, validator=v.share)
    seed: int = 0
    answer_rate_schedule: Schedule = attrs.field(default=(), converter=_steps, validator=_schedule)
    """Steps that override `answer_rate` (campaigns with their own rate are scaled alike)."""
    slot_schedule: Schedule = attrs.field(default=(), converter=_steps, validator=_schedule)
    """Steps that override `slots`; a drop drains busy slots as their calls end."""
    campaigns: tuple[CampaignSpec, ...] = attrs.field(default=(), converter=_campaigns)
    """Empty: one campaign with the scenario's figures."""
    voicemail_s: float = attrs.field(default=30.0, validator=v.at_least(0.0))
    """How long a machine-answered call holds a slot while the agent leaves its message."""
    trunks: tuple[TrunkSpec, ...] = attrs.field(default=(), converter=_trunks)
    """Trunks the campaigns name in `CampaignSpec.trunk`; the planner keeps to their limits as
    the dialler does."""
    tenants: tuple[TenantSpec, ...] = attrs.field(default=(), converter=_tenants)
    """Weights and caps of the tenants campaigns name; unlisted tenants weigh 1, uncapped."""

    def __attrs_post_init__(self) -> None:
        if self.answer_rate + self.machine_rate > 1.0:
            raise ValidationError("machine_rate", "answer_rate + machine_rate must not exceed 1")
        names = [c.name for c in self.campaigns]
        if len(set(names)) != len(names):
            raise ValidationError("campaigns", "campaign names must be unique")
        trunks = {t.name for t in self.trunks}
        if len(trunks) != len(self.trunks):
            raise ValidationError("trunks", "trunk names must be unique")
        for c in self.campaigns:
            if c.trunk is not None and c.trunk not in trunks:
                raise ValidationError("campaigns", f"{c.name} names an unknown trunk {c.trunk!r}")

    def slots_at(self, hour: float) -> int:
        return int(_step_value(self.slot_schedule, hour, self.slots))

    def answer_rate_at(self, hour: float) -> float:
        return _step_value(self.answer_rate_schedule, hour, self.answer_rate)

    def campaign_specs(self) -> tuple[CampaignSpec, ...]:
        return self.campaigns or (CampaignSpec(name="campaign"),)


def _step_value(schedule: Schedule, hour: float, base: float) -> float:
    value = base
    for start, step_value in schedule:
        if hour >= start:
            value = step_value
        else:
            break
    return value
