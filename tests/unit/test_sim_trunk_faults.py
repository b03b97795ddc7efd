"""The simulated carrier's per-trunk faults (`VOX_SIM_TRUNK_FAULTS`): a throttled trunk answers
each dial as the LiveKit adapter's throttled trunk does (`TrunkThrottled`, 503 CPS limit), a
failing one with a failed dial carrying the carrier's 503; other trunks dial as before."""

from __future__ import annotations

import pytest

from voxcore_adapters.sim import SimTelephony
from voxcore_adapters.sim.settings import SimSettings
from voxcore_adapters.sim.telephony import TrunkFault
from voxcore_domain.errors import ValidationError
from voxcore_domain.model import Disposition
from voxcore_domain.ports import DialRequest, TrunkThrottled
from voxcore_domain.simulation.callees import CalleeModel
from voxcore_domain.trunklimits import carrier_failed


def _request(trunk: str, call: str = "c1") -> DialRequest:
    return DialRequest(
        call_id=call,
        trunk_id=trunk,
        to="+14155550123",
        caller_id="+14155550100",
        ring_timeout_s=15.0,
        room=f"call-{call}",
    )


def _carrier() -> SimTelephony:
    everyone_answers = CalleeModel(answer_rate=1.0, machine_rate=0.0, mean_answer_delay_s=0.1)
    settings = SimSettings.from_env({"VOX_SIM_TRUNK_FAULTS": "ST_slow=throttle, ST_bad=fail"})
    assert settings.trunk_faults == {"ST_slow": TrunkFault.THROTTLE, "ST_bad": TrunkFault.FAIL}
    return SimTelephony(everyone_answers, trunk_faults=settings.trunk_faults)


async def test_a_throttled_trunk_raises_what_the_livekit_adapter_raises() -> None:
    with pytest.raises(TrunkThrottled) as throttled:
        await _carrier().place_call(_request("ST_slow"))
    assert throttled.value.trunk_id == "ST_slow"
    assert throttled.value.sip_status == 503
    assert throttled.value.retry_after_s > 0


async def test_a_failing_trunk_fails_each_dial_with_the_carriers_5xx() -> None:
    result = await _carrier().place_call(_request("ST_bad"))
    assert result.answered_at is None
    assert result.disposition is Disposition.FAILED
    assert result.sip_status == 503
    assert carrier_failed(result.sip_status)


async def test_other_trunks_dial_as_usual() -> None:
    carrier = _carrier()
    result = await carrier.place_call(_request("ST_fine"))
    assert result.answered_at is not None
    await carrier.aclose()


@pytest.mark.parametrize("value", ["ST_a=melt", "=fail", "ST_a"])
def test_a_bad_fault_names_the_field(value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        SimSettings.from_env({"VOX_SIM_TRUNK_FAULTS": value})
    assert refused.value.field == "trunk_faults"
