"""The simulated carrier: the telephony port over the simulator's callee model, with the
callee's audio carried to the fleet over a carrier media stream (`make demo`)."""

from voxcore_adapters.sim.abandon import SimAbandonMessages
from voxcore_adapters.sim.media import CalleeMedia, MediaTarget
from voxcore_adapters.sim.telephony import HeardAudio, SimTelephony

__all__ = ["CalleeMedia", "HeardAudio", "MediaTarget", "SimAbandonMessages", "SimTelephony"]
