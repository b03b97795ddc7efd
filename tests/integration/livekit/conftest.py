"""Fixtures for the telephony tests: the LiveKit Twirp double on loopback, the LiveKit adapter
talking to it through the real `livekit-api` client, and `phone`, which runs a contract test on
the fake telephony and on the adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from voxcore_adapters.fakes.media_fakes import Callee, FakeTelephony
from voxcore_adapters.livekit import LiveKitSettings, LiveKitTelephony
from voxcore_adapters.sim import SimTelephony
from voxcore_adapters.testing.livekit_double import LiveKitDouble
from voxcore_domain.simulation.callees import CalleeModel

TRUNK = "ST_vox"


@pytest.fixture
def double() -> Iterator[LiveKitDouble]:
    with LiveKitDouble(trunks=[TRUNK]) as server:
        yield server


@pytest.fixture
def settings(double: LiveKitDouble) -> LiveKitSettings:
    return LiveKitSettings(double.url, double.api_key, double.api_secret, throttle_backoff_s=2.5)


@pytest.fixture
async def livekit(settings: LiveKitSettings) -> AsyncIterator[LiveKitTelephony]:
    async with LiveKitTelephony(settings) as telephony:
        yield telephony


class Phone:
    """Where a contract test runs: the fake, the simulated carrier, or the adapter against the
    double. `script` scripts a number on whichever it is."""

    def __init__(
        self,
        kind: str,
        telephony: FakeTelephony | SimTelephony | LiveKitTelephony,
        double: LiveKitDouble | None,
    ) -> None:
        self.kind = kind
        self.telephony = telephony
        self.double = double

    def script(self, number: str, callee: Callee) -> None:
        if isinstance(self.telephony, FakeTelephony | SimTelephony):
            self.telephony.script(number, callee)
        else:
            assert self.double is not None
            self.double.script(number, callee)

    def live(self, call_id: str, room: str) -> bool:
        """Whether the call's phone leg is still up in its room."""
        if isinstance(self.telephony, FakeTelephony | SimTelephony):
            return self.telephony.live_calls.get(call_id) == room
        assert self.double is not None
        return f"sip-{call_id}" in self.double.participants(room)


SIM_CALLEES = CalleeModel(answer_rate=1.0, mean_answer_delay_s=0.1)
"""Unscripted numbers answer within the ring time, as the fake's do."""


@pytest.fixture(params=["fake", "sim", "livekit"])
def phone(request: pytest.FixtureRequest) -> Phone:
    if request.param == "fake":
        return Phone("fake", FakeTelephony(trunks=[TRUNK], throttle_backoff_s=2.5), None)
    if request.param == "sim":
        sim = SimTelephony(SIM_CALLEES, seed=1, trunks=[TRUNK], throttle_backoff_s=2.5)
        return Phone("sim", sim, None)
    return Phone("livekit", request.getfixturevalue("livekit"), request.getfixturevalue("double"))
