"""The simulator's callee model, one dial at a time: who answers (a person, a machine, nobody),
after how long, and how long the call then lasts.

The simulation engine draws the same distributions inline; this form is for the simulated
carrier (`voxcore_adapters.sim`), which plays one drawn callee per real dial, so the live
platform and the simulator face the same population. Pure: the caller passes the RNG.
"""

from __future__ import annotations

import enum
import math
import random

import attrs

from voxcore_domain import validators as v
from voxcore_domain.errors import ValidationError
from voxcore_domain.simulation.scenario import Scenario


class Answerer(enum.Enum):
    PERSON = "person"
    MACHINE = "machine"
    NOBODY = "nobody"
    """The phone rings until the dial's ring timeout."""


@attrs.frozen
class DrawnCallee:
    """One dial's callee."""

    answerer: Answerer
    answer_after_s: float
    """Ring time before the answer (the ring timeout for nobody)."""
    talk_s: float
    """How long the person talks before hanging up, or the machine's greeting plus message
    time; 0 for nobody."""


@attrs.frozen
class CalleeModel:
    """The population a campaign dials; the figures mean what `Scenario`'s do."""

    answer_rate: float = attrs.field(default=0.25, validator=v.share)
    """Share of dials a person answers."""
    machine_rate: float = attrs.field(default=0.0, validator=v.share)
    """Share of dials an answering machine answers."""
    mean_answer_delay_s: float = attrs.field(default=8.0, validator=v.at_least(0.1))
    """Mean ring time before an answer (exponential, cut at the ring timeout)."""
    mean_talk_s: float = attrs.field(default=120.0, validator=v.at_least(1.0))
    talk_cv: float = attrs.field(default=1.0, validator=v.at_least(0.0))
    """Coefficient of variation of talk time (log-normal; 0 for fixed-length calls)."""
    voicemail_s: float = attrs.field(default=30.0, validator=v.at_least(0.0))
    """How long a machine holds the call (greeting plus the agent's message)."""

    def __attrs_post_init__(self) -> None:
        if self.answer_rate + self.machine_rate > 1.0:
            raise ValidationError("machine_rate", "answer_rate + machine_rate must not exceed 1")

    @classmethod
    def of(cls, scenario: Scenario) -> CalleeModel:
        """The callees of `scenario`."""
        return cls(
            answer_rate=scenario.answer_rate,
            machine_rate=scenario.machine_rate,
            mean_answer_delay_s=scenario.mean_answer_delay_s,
            mean_talk_s=scenario.mean_talk_s,
            talk_cv=scenario.talk_cv,
            voicemail_s=scenario.voicemail_s,
        )

    def draw(self, rng: random.Random, ring_timeout_s: float) -> DrawnCallee:
        """The callee of one dial that rings at most `ring_timeout_s`; the same draws, in the
        same order, as the simulation engine's dial and handle time."""
        u = rng.random()
        if u >= self.answer_rate + self.machine_rate:
            return DrawnCallee(Answerer.NOBODY, ring_timeout_s, 0.0)
        m = self.mean_answer_delay_s
        delay = -m * math.log(1.0 - rng.random() * (1.0 - math.exp(-ring_timeout_s / m)))
        if u >= self.answer_rate:
            return DrawnCallee(Answerer.MACHINE, delay, self.voicemail_s)
        sigma = math.sqrt(math.log(1.0 + self.talk_cv**2))
        mu = math.log(self.mean_talk_s) - sigma * sigma / 2.0
        talk = math.exp(mu) if sigma == 0.0 else rng.lognormvariate(mu, sigma)
        return DrawnCallee(Answerer.PERSON, delay, talk)
