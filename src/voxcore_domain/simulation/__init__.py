"""The pacing simulator: the dialler's own pacing and fair-share code against a model of the
people it calls. Deterministic for a seed.

    from voxcore_domain.simulation import Scenario, CampaignSpec, simulate
    report = simulate(Scenario(slots=100, answer_rate=0.25, hours=8.0, seed=1), "predictive")
"""

from voxcore_domain.simulation.engine import simulate
from voxcore_domain.simulation.report import Figures, Minute, SimulationReport
from voxcore_domain.simulation.scenario import CampaignSpec, Scenario, TenantSpec, TrunkSpec

__all__ = [
    "CampaignSpec",
    "Figures",
    "Minute",
    "Scenario",
    "SimulationReport",
    "TenantSpec",
    "TrunkSpec",
    "simulate",
]
