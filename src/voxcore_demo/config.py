"""What a demo run is: how long, how many call slots, which callees, which campaigns. The
same figures drive the simulated carrier and the simulator's prediction."""

from __future__ import annotations

import attrs

from voxcore_domain import validators as v
from voxcore_domain.simulation import Scenario
from voxcore_domain.simulation.callees import CalleeModel
from voxcore_domain.simulation.scenario import CampaignSpec

TIMEZONES = (
    ("America/Los_Angeles", "+1415"),
    ("America/New_York", "+1212"),
    ("Europe/London", "+4420"),
    ("Europe/Berlin", "+4930"),
    ("Asia/Kolkata", "+9122"),
    ("Asia/Tokyo", "+813"),
    ("Australia/Sydney", "+612"),
)
"""Where the synthetic contacts live, with a dialling prefix of the place: the calling window
is local to each, so at any hour some of them are callable and some are not."""


@attrs.frozen
class DemoCampaign:
    """One seeded campaign."""

    name: str
    weight: float
    """Its share of the call slots against the other campaign."""


@attrs.frozen
class DemoConfig:
    """One `vox demo` run."""

    minutes: float = attrs.field(default=3.0, validator=v.at_least(0.1))
    workers: int = attrs.field(default=8, validator=v.at_least(1))
    """Fleet workers, one call slot each."""
    contacts: int = attrs.field(default=3000, validator=v.at_least(1))
    """Synthetic contacts, spread over the campaigns and `TIMEZONES`."""
    seed: int = 0
    callees: CalleeModel = attrs.field(
        factory=lambda: CalleeModel(
            answer_rate=0.3,
            machine_rate=0.05,
            mean_answer_delay_s=4.0,
            mean_talk_s=20.0,
            talk_cv=0.4,
            voicemail_s=12.0,
        )
    )
    """Short calls and quick answers, so a few minutes show many calls; talk times the
    default script's few turns can span (`voxcore_adapters.sim.media`)."""
    ring_timeout_s: float = attrs.field(default=15.0, validator=v.at_least(15.0))
    """The API's lowest ring timeout."""
    abandon_target: float = 0.03
    mode: str = "predictive"
    campaigns: tuple[DemoCampaign, ...] = (
        DemoCampaign("Renewals", 2.0),
        DemoCampaign("Survey", 1.0),
    )
    nginx: bool = True
    """Put nginx in front of the workers when it is installed; False: the dialler reaches their
    sockets directly even so."""

    def scenario(self) -> Scenario:
        """The simulator's scenario for the same settings."""
        callees = self.callees
        return Scenario(
            slots=self.workers,
            answer_rate=callees.answer_rate,
            machine_rate=callees.machine_rate,
            ring_timeout_s=self.ring_timeout_s,
            mean_answer_delay_s=callees.mean_answer_delay_s,
            mean_talk_s=callees.mean_talk_s,
            talk_cv=callees.talk_cv,
            voicemail_s=callees.voicemail_s,
            hours=self.minutes / 60.0,
            abandon_target=self.abandon_target,
            seed=self.seed,
            campaigns=tuple(CampaignSpec(c.name, weight=c.weight) for c in self.campaigns),
        )
